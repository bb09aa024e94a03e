//! Entry point of the dashboard: mounts [`vigie::App`] on `<body>`.

fn main() {
    #[cfg(not(panic = "immediate-abort"))]
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(vigie::App);
}
