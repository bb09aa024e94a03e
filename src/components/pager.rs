//! Newer and Older through a list shown a page at a time, newest first, with
//! which of its items are shown between them.

use leptos::prelude::*;

use crate::i18n;

#[derive(Debug)]
struct Text {
    newer: &'static str,
    older: &'static str,
    none: &'static str,
    range: fn(u32, u32, u64) -> String,
}

const EN: Text = Text {
    newer: "Newer",
    older: "Older",
    none: "none",
    range: |first, last, total| format!("{first}–{last} of {total}"),
};

const FR: Text = Text {
    newer: "Plus récents",
    older: "Plus anciens",
    none: "aucun",
    range: |first, last, total| format!("{first}–{last} sur {total}"),
};

/// `21–40 of 57`; `none` on an empty page.
pub fn range_text(offset: u32, count: u32, total: u64) -> String {
    let t = i18n::pick(&EN, &FR);
    if count == 0 {
        t.none.to_owned()
    } else {
        (t.range)(offset + 1, offset + count, total)
    }
}

/// `offset` is where the page shown starts, `count` how many it shows, out
/// of `total`; `next` where the next page starts (`None` on the last).
/// `label` names the navigation; the range shown has `range_testid`.
#[component]
pub fn Pager(
    offset: RwSignal<u32>,
    page: u32,
    #[prop(into)] count: Signal<u32>,
    #[prop(into)] total: Signal<u64>,
    #[prop(into)] next: Signal<Option<u64>>,
    label: &'static str,
    range_testid: &'static str,
) -> impl IntoView {
    let t = i18n::pick(&EN, &FR);
    view! {
        <nav class="pager" aria-label=label>
            <button type="button" disabled=move || offset.get() == 0
                on:click=move |_| offset.update(|o| *o = o.saturating_sub(page))>
                {t.newer}
            </button>
            <span data-testid=range_testid>{move || range_text(offset.get(), count.get(), total.get())}</span>
            <button type="button" disabled=move || next.get().is_none()
                on:click=move |_| {
                    if let Some(next) = next.get_untracked() {
                        offset.set(u32::try_from(next).unwrap_or(u32::MAX));
                    }
                }>
                {t.older}
            </button>
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_count_from_one() {
        assert_eq!(range_text(0, 0, 0), "none");
        assert_eq!(range_text(20, 20, 57), "21–40 of 57");
    }

    #[test]
    fn ranges_in_french() {
        i18n::set_current(i18n::Lang::Fr);
        assert_eq!(range_text(0, 0, 0), "aucun");
        assert_eq!(range_text(20, 20, 57), "21–40 sur 57");
        i18n::set_current(i18n::Lang::En);
    }
}
