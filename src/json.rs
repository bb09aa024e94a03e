//! JSON on the wire, read and written by the browser's own `JSON.parse` and
//! `JSON.stringify`, with `serde-wasm-bindgen` between JavaScript values and
//! the `vigie_api` types. The first download then carries no JSON parser
//! nor float-parsing tables of its own.
//!
//! Every integer on the wire is a JavaScript number: ids (SQLite row ids),
//! Unix milliseconds, counts and byte sizes, all far below 2^53. One above
//! 2^53 (which `JSON.parse` would have rounded) is refused as a decoding
//! error, never taken rounded; a `u64`/`i64` above it is refused when
//! written.
//!
//! Outside a browser (the native unit tests) the same functions use
//! `serde_json`; the browser path is tested in `tests/wasm.rs` against
//! `serde_json` on the same values.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// A JavaScript value of `value`, as `JSON.stringify` would write it: maps
/// as objects, `None` as `null`.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, String> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| e.to_string())
}

/// A `T` read from a JavaScript value (a parsed JSON document).
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// A JSON document as received, not yet read into a type: the value
/// `JSON.parse` gave in a browser, the text outside one.
#[derive(Debug, Clone)]
pub struct Document(
    #[cfg(target_arch = "wasm32")] JsValue,
    #[cfg(not(target_arch = "wasm32"))] String,
);

impl Document {
    /// Parses JSON text (which need not be of any particular type yet).
    pub fn parse(text: &str) -> Result<Document, String> {
        #[cfg(target_arch = "wasm32")]
        {
            js_sys::JSON::parse(text)
                .map(Document)
                .map_err(|e| describe(&e))
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
            Ok(Document(text.to_owned()))
        }
    }

    /// The document read as a `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, String> {
        #[cfg(target_arch = "wasm32")]
        {
            from_js(self.0.clone())
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            serde_json::from_str(&self.0).map_err(|e| e.to_string())
        }
    }
}

/// A `T` read from JSON text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    Document::parse(text)?.decode()
}

/// The JSON text of `value`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    #[cfg(target_arch = "wasm32")]
    {
        let value = to_js(value)?;
        js_sys::JSON::stringify(&value)
            .map_err(|e| describe(&e))?
            .as_string()
            .ok_or_else(|| "not JSON".to_owned())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::to_string(value).map_err(|e| e.to_string())
    }
}

/// A JavaScript error's message.
pub fn describe(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .or_else(|| js_sys::JSON::stringify(error).ok()?.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// An object of string properties, e.g. `{page: "/alerts"}`.
pub fn object(pairs: &[(&str, &str)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        let _ = js_sys::Reflect::set(&object, &(*key).into(), &(*value).into());
    }
    object.into()
}

/// A JSON document kept as its text, decoded when and where it is needed:
/// what the shell holds of a pushed event that only a page's chunk reads,
/// so the first download does not carry that page's decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw(String);

impl Raw {
    pub fn new(text: impl Into<String>) -> Self {
        Raw(text.into())
    }

    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, String> {
        from_str(&self.0)
    }

    /// The document as a JavaScript value (to post it on, as it came).
    pub fn to_js(&self) -> Result<JsValue, String> {
        js_sys::JSON::parse(&self.0).map_err(|e| describe(&e))
    }

    pub fn text(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_json_decodes_on_demand() {
        let raw = Raw::new(r#"{"id": 3, "name": "x"}"#);
        #[derive(serde::Deserialize)]
        struct Head {
            id: i64,
        }
        assert_eq!(raw.decode::<Head>().map(|h| h.id), Ok(3));
        assert!(Raw::new("{").decode::<Head>().is_err());
    }
}
