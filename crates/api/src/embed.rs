//! What the dashboard reads before it talks to the API, and what it says to
//! the page that embeds it: `config.json` and the `postMessage` bridge. Both
//! are JSON objects; every bridge message has a `type`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Languages of the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// The BCP 47 tag, as `<html lang>` takes it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language of a browser tag such as `fr-CA`; English for any other.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }
}

/// A theme asked for: `auto` follows the system's preference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ThemeChoice {
    Light,
    Dark,
    #[default]
    Auto,
}

/// The ranges the dashboard offers (its range picker, `config.json`
/// and the portal's `range`): `5m` … `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    M5,
    M15,
    H1,
    H6,
    H24,
    D7,
}

impl Range {
    pub const ALL: [Range; 6] = [
        Range::M5,
        Range::M15,
        Range::H1,
        Range::H6,
        Range::H24,
        Range::D7,
    ];

    /// The range a query string names (`5m` … `7d`).
    pub fn parse(text: &str) -> Option<Range> {
        Range::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Range::M5 => "5m",
            Range::M15 => "15m",
            Range::H1 => "1h",
            Range::H6 => "6h",
            Range::H24 => "24h",
            Range::D7 => "7d",
        }
    }

    pub fn millis(self) -> i64 {
        const MIN: i64 = 60_000;
        match self {
            Range::M5 => 5 * MIN,
            Range::M15 => 15 * MIN,
            Range::H1 => 60 * MIN,
            Range::H6 => 360 * MIN,
            Range::H24 => 1440 * MIN,
            Range::D7 => 7 * 1440 * MIN,
        }
    }
}

/// `config.json` next to the dashboard's `index.html`: read once at start-up,
/// so that one build serves every environment. Every field is optional, so
/// an empty object is a valid config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardConfig {
    /// Origin (and optional path) of the API, e.g. `https://vigie.example.com`.
    /// Absent or empty: the page's own origin.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Origins of the portals allowed to embed the dashboard and talk to it,
    /// e.g. `https://admin.example.com`. Messages from any other origin are
    /// ignored; the dashboard posts only to these.
    #[serde(default)]
    pub parent_origins: Vec<String>,
    /// Refuse to run outside an allowed parent (no stand-alone sign-in).
    #[serde(default)]
    pub require_parent: bool,
    /// Theme until the portal names one. Absent: the system's preference.
    #[serde(default)]
    pub theme: Option<ThemeChoice>,
    /// Language until the portal names one. Absent: the browser's.
    #[serde(default)]
    pub lang: Option<Lang>,
    /// Range the charts open on (`5m`, `15m`, `1h`, `6h`, `24h`, `7d`).
    #[serde(default)]
    pub range: Option<String>,
}

/// A message from the portal to the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PortalMessage {
    /// The first message: everything the dashboard needs to start.
    #[serde(rename = "vigie:init")]
    Init {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        theme: Option<ThemeChoice>,
        #[serde(default)]
        lang: Option<Lang>,
        #[serde(default)]
        range: Option<String>,
        /// A dashboard path such as `/alerts`.
        #[serde(default)]
        page: Option<String>,
    },
    /// A new token (the previous one expires).
    #[serde(rename = "vigie:token")]
    Token { token: String },
    #[serde(rename = "vigie:theme")]
    Theme { theme: ThemeChoice },
    #[serde(rename = "vigie:lang")]
    Lang { lang: Lang },
    #[serde(rename = "vigie:range")]
    Range { range: String },
    #[serde(rename = "vigie:navigate")]
    Navigate { page: String },
}

/// Every field a [`PortalMessage`] may carry, read flat: the dashboard reads
/// a message through this plain struct, then [`PortalMessage::from_fields`],
/// because the enum's own (internally tagged) decoder buffers the whole
/// document before it looks at `type`, and weighs 17 KB of wasm in the first
/// download. Unknown fields are ignored, as by the enum; a field of the
/// wrong type is an error whichever message it is in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortalFields {
    /// Empty when the message has none.
    #[serde(rename = "type")]
    pub kind: String,
    pub token: Option<String>,
    pub theme: Option<ThemeChoice>,
    pub lang: Option<Lang>,
    pub range: Option<String>,
    pub page: Option<String>,
}

impl PortalMessage {
    /// The message `fields` spell, or why they spell none: an unknown
    /// `type`, or a field its type needs missing.
    pub fn from_fields(fields: PortalFields) -> Result<PortalMessage, String> {
        let PortalFields {
            kind,
            token,
            theme,
            lang,
            range,
            page,
        } = fields;
        fn needs<T>(kind: &str, field: &str, value: Option<T>) -> Result<T, String> {
            value.ok_or_else(|| format!("{kind} needs `{field}`"))
        }
        Ok(match kind.as_str() {
            "vigie:init" => PortalMessage::Init {
                token,
                theme,
                lang,
                range,
                page,
            },
            "vigie:token" => PortalMessage::Token {
                token: needs(&kind, "token", token)?,
            },
            "vigie:theme" => PortalMessage::Theme {
                theme: needs(&kind, "theme", theme)?,
            },
            "vigie:lang" => PortalMessage::Lang {
                lang: needs(&kind, "lang", lang)?,
            },
            "vigie:range" => PortalMessage::Range {
                range: needs(&kind, "range", range)?,
            },
            "vigie:navigate" => PortalMessage::Navigate {
                page: needs(&kind, "page", page)?,
            },
            "" => return Err("a message needs a `type`".to_owned()),
            other => return Err(format!("unknown message type `{other}`")),
        })
    }
}

/// A message from the dashboard to the portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum VigieMessage {
    /// Loaded; waiting for `vigie:init`.
    #[serde(rename = "vigie:ready")]
    Ready,
    /// The content's height in CSS pixels changed: size the iframe to it.
    #[serde(rename = "vigie:height")]
    Height { height: u32 },
    /// The token expires soon (a JWT's `exp`) or was refused: send a new one.
    #[serde(rename = "vigie:token-expiring")]
    TokenExpiring {
        /// Unix seconds of the expiry, when the token says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<i64>,
    },
    /// Something happened: see [`BridgeEvent`] for the names.
    #[serde(rename = "vigie:event")]
    Event { name: BridgeEvent, detail: Value },
}

/// Names of `vigie:event` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BridgeEvent {
    #[serde(rename = "alert.fired")]
    AlertFired,
    #[serde(rename = "alert.resolved")]
    AlertResolved,
    #[serde(rename = "alert.acknowledged")]
    AlertAcknowledged,
    #[serde(rename = "scaling.requested")]
    ScalingRequested,
    #[serde(rename = "scaling.completed")]
    ScalingCompleted,
    #[serde(rename = "report.ready")]
    ReportReady,
    #[serde(rename = "range.changed")]
    RangeChanged,
    #[serde(rename = "navigated")]
    Navigated,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn portal_messages_read_as_documented() {
        let init: PortalMessage = serde_json::from_value(json!({
            "type": "vigie:init", "token": "t", "theme": "dark", "lang": "fr",
            "range": "1h", "page": "/alerts"
        }))
        .expect("init");
        assert_eq!(
            init,
            PortalMessage::Init {
                token: Some("t".into()),
                theme: Some(ThemeChoice::Dark),
                lang: Some(Lang::Fr),
                range: Some("1h".into()),
                page: Some("/alerts".into()),
            }
        );
        let bare: PortalMessage =
            serde_json::from_value(json!({"type": "vigie:init"})).expect("bare init");
        assert!(matches!(bare, PortalMessage::Init { token: None, .. }));
        for bad in [
            json!({"type": "vigie:theme", "theme": "pink"}),
            json!({"type": "vigie:lang"}),
            json!({"type": "other"}),
            json!("vigie:init"),
        ] {
            assert!(
                serde_json::from_value::<PortalMessage>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    /// The flat read gives what the enum's own decoder gives, for every
    /// message the bridge documents, and refuses what it refuses.
    #[test]
    fn portal_messages_read_flat_as_the_enum_reads_them() {
        let flat = |doc: &Value| {
            serde_json::from_value::<PortalFields>(doc.clone())
                .map_err(|e| e.to_string())
                .and_then(PortalMessage::from_fields)
        };
        for good in [
            json!({"type": "vigie:init", "token": "t", "theme": "dark", "lang": "fr",
                "range": "1h", "page": "/alerts", "extra": [1, 2]}),
            json!({"type": "vigie:init"}),
            json!({"type": "vigie:init", "token": null, "page": null}),
            json!({"type": "vigie:token", "token": "abc"}),
            json!({"type": "vigie:theme", "theme": "auto"}),
            json!({"type": "vigie:lang", "lang": "en"}),
            json!({"type": "vigie:range", "range": "24h"}),
            json!({"type": "vigie:navigate", "page": "/reports", "token": "ignored"}),
        ] {
            let reference: PortalMessage = serde_json::from_value(good.clone()).expect("enum");
            assert_eq!(flat(&good), Ok(reference), "{good}");
        }
        for bad in [
            json!({"type": "vigie:theme", "theme": "pink"}),
            json!({"type": "vigie:lang"}),
            json!({"type": "vigie:token", "token": null}),
            json!({"type": "vigie:navigate"}),
            json!({"type": "vigie:range", "range": 5}),
            json!({"type": "other"}),
            json!({"token": "t"}),
            json!("vigie:init"),
        ] {
            assert!(
                serde_json::from_value::<PortalMessage>(bad.clone()).is_err(),
                "{bad}"
            );
            assert!(flat(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            flat(&json!({"type": "vigie:lang"})),
            Err("vigie:lang needs `lang`".to_owned())
        );
        assert_eq!(
            flat(&json!({"token": "t"})),
            Err("a message needs a `type`".to_owned())
        );
    }

    #[test]
    fn vigie_messages_write_as_documented() {
        let event = VigieMessage::Event {
            name: BridgeEvent::AlertResolved,
            detail: json!({"id": 3}),
        };
        assert_eq!(
            serde_json::to_value(event).expect("event"),
            json!({"type": "vigie:event", "name": "alert.resolved", "detail": {"id": 3}})
        );
        assert_eq!(
            serde_json::to_value(VigieMessage::Height { height: 640 }).expect("height"),
            json!({"type": "vigie:height", "height": 640})
        );
        assert_eq!(
            serde_json::to_value(VigieMessage::Ready).expect("ready"),
            json!({"type": "vigie:ready"})
        );
    }

    #[test]
    fn browser_tags_pick_a_language() {
        assert_eq!(Lang::from_tag("fr-CA"), Lang::Fr);
        assert_eq!(Lang::from_tag("FR"), Lang::Fr);
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag("de"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
    }
}
