//! MAIL and RCPT parameters: the generic `esmtp-param` grammar and the extensions that use it.
//!
//! Read first: RFC 5321 §4.1.2 (`Mail-parameters`, `esmtp-param`), §4.1.1.11 (`555` for
//! unknown parameters), RFC 1870 §3, §6 (`SIZE=`), RFC 6152 §2 (`BODY=`), RFC 6531 §3.4
//! (`SMTPUTF8`), RFC 4954 §5 (`AUTH=`), and [`crate::dsn`] for RFC 3461's parameters.
//! Parameters exist only after EHLO (RFC 5321 §4.1.1.11 and RFC 1869 §6): after HELO every
//! parameter is unknown.

use crate::config::Extensions;
use crate::dsn::{self, Notify, Orcpt, Ret};
use crate::reply::Reply;

/// The parameters of a MAIL command, validated against the extensions on offer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=n` (RFC 1870): the client's estimate of the message size in octets.
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531): addresses and headers may contain UTF-8.
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461), still xtext-encoded.
    pub envid: Option<String>,
    /// `AUTH=` (RFC 4954 §5): the submitter, still xtext-encoded, or `<>`.
    pub auth: Option<String>,
}

/// The parameters of one RCPT command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461 §4.2).
    pub orcpt: Option<Orcpt>,
}

/// `BODY=` values (RFC 6152 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME`.
    EightBitMime,
}

/// A parameter that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParamError {
    /// Not `esmtp-keyword ["=" esmtp-value]`.
    #[error("malformed parameter")]
    Syntax,
    /// A keyword no extension on offer defines (RFC 5321 §4.1.1.11: `555`).
    #[error("{0} parameter not recognized")]
    Unknown(String),
    /// A known keyword with a bad or missing value.
    #[error("{keyword} parameter {reason}")]
    Invalid {
        /// The keyword, upper-case.
        keyword: &'static str,
        /// What is wrong, e.g. "must be FULL or HDRS".
        reason: &'static str,
    },
    /// The same keyword twice.
    #[error("{0} parameter given twice")]
    Duplicate(String),
}

impl ParamError {
    pub(crate) fn invalid(keyword: &'static str, reason: &'static str) -> ParamError {
        ParamError::Invalid { keyword, reason }
    }

    /// The reply for this error.
    pub(crate) fn reply(&self) -> Reply {
        let code = if matches!(self, ParamError::Unknown(_)) {
            555
        } else {
            501
        };
        Reply::with_status(code, [5, 5, 4], self.to_string())
    }
}

/// One `esmtp-param`, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    /// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
    pub(crate) keyword: String,
    /// `esmtp-value = 1*(%d33-60 / %d62-126)` (`=/ UTF8-non-ascii`, RFC 6531 §3.3).
    pub(crate) value: Option<String>,
}

/// `esmtp-param = esmtp-keyword ["=" esmtp-value]`.
pub(crate) fn esmtp_param(text: &str) -> Result<Param, ParamError> {
    let (keyword, value) = match text.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (text, None),
    };
    let keyword_ok = keyword.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && keyword.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let value_ok = value.is_none_or(|v| {
        !v.is_empty()
            && v.chars()
                .all(|c| (c > ' ' && c != '=' && c != '\u{7f}') || !c.is_ascii())
    });
    if !(keyword_ok && value_ok) {
        return Err(ParamError::Syntax);
    }
    Ok(Param {
        keyword: keyword.to_ascii_uppercase(),
        value: value.map(str::to_owned),
    })
}

/// What decides which parameters are known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamContext<'a> {
    /// The extensions on offer.
    pub(crate) extensions: &'a Extensions,
    /// The client greeted with EHLO (not HELO).
    pub(crate) ehlo: bool,
}

impl MailParams {
    /// Validates MAIL parameters: `SIZE`, `BODY`, `SMTPUTF8`, `RET`, `ENVID`, `AUTH`.
    pub(crate) fn from_params(params: &[Param], cx: ParamContext<'_>) -> Result<MailParams, ParamError> {
        check_duplicates(params)?;
        let ext = cx.extensions;
        let mut out = MailParams::default();
        for p in params {
            let value = p.value.as_deref();
            match p.keyword.as_str() {
                "SIZE" if cx.ehlo && ext.size => out.size = Some(size(value)?),
                "BODY" if cx.ehlo && ext.eight_bit_mime => out.body = Some(body(value)?),
                "SMTPUTF8" if cx.ehlo && ext.smtputf8 => {
                    if value.is_some() {
                        return Err(ParamError::invalid("SMTPUTF8", "takes no value"));
                    }
                    out.smtputf8 = true;
                }
                "RET" if cx.ehlo && ext.dsn => out.ret = Some(dsn::ret(required("RET", value)?)?),
                "ENVID" if cx.ehlo && ext.dsn => out.envid = Some(dsn::envid(required("ENVID", value)?)?),
                "AUTH" if cx.ehlo && !ext.auth.is_empty() => out.auth = Some(auth(value)?),
                other => return Err(ParamError::Unknown(other.to_owned())),
            }
        }
        Ok(out)
    }
}

impl RcptParams {
    /// Validates RCPT parameters: `NOTIFY`, `ORCPT`.
    pub(crate) fn from_params(params: &[Param], cx: ParamContext<'_>) -> Result<RcptParams, ParamError> {
        check_duplicates(params)?;
        let dsn_on = cx.ehlo && cx.extensions.dsn;
        let mut out = RcptParams::default();
        for p in params {
            let value = p.value.as_deref();
            match p.keyword.as_str() {
                "NOTIFY" if dsn_on => out.notify = Some(dsn::notify(required("NOTIFY", value)?)?),
                "ORCPT" if dsn_on => out.orcpt = Some(dsn::orcpt(required("ORCPT", value)?)?),
                other => return Err(ParamError::Unknown(other.to_owned())),
            }
        }
        Ok(out)
    }
}

fn check_duplicates(params: &[Param]) -> Result<(), ParamError> {
    for (i, p) in params.iter().enumerate() {
        if params[..i].iter().any(|q| q.keyword == p.keyword) {
            return Err(ParamError::Duplicate(p.keyword.clone()));
        }
    }
    Ok(())
}

fn required<'v>(keyword: &'static str, value: Option<&'v str>) -> Result<&'v str, ParamError> {
    value.ok_or(ParamError::invalid(keyword, "needs a value"))
}

/// `size-value = 1*20DIGIT` (RFC 1870 §3). Twenty digits can exceed `u64::MAX`; such a size
/// is kept as `u64::MAX`, above any limit, so it gets `552` (§6) rather than a syntax error.
fn size(value: Option<&str>) -> Result<u64, ParamError> {
    let v = required("SIZE", value)?;
    if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::invalid("SIZE", "must be a number of 1 to 20 digits"));
    }
    Ok(v.parse().unwrap_or(u64::MAX))
}

/// `body-value = "7BIT" / "8BITMIME"` (RFC 6152 §2; `BINARYMIME` is not offered).
fn body(value: Option<&str>) -> Result<Body, ParamError> {
    let v = required("BODY", value)?;
    if v.eq_ignore_ascii_case("7BIT") {
        Ok(Body::SevenBit)
    } else if v.eq_ignore_ascii_case("8BITMIME") {
        Ok(Body::EightBitMime)
    } else {
        Err(ParamError::invalid("BODY", "must be 7BIT or 8BITMIME"))
    }
}

/// `auth-param = "AUTH=" xtext` whose decoded value is a mailbox or `<>` (RFC 4954 §5).
fn auth(value: Option<&str>) -> Result<String, ParamError> {
    let v = required("AUTH", value)?;
    if !dsn::xtext(v) {
        return Err(ParamError::invalid("AUTH", "must be xtext"));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str], ehlo: bool, ext: &Extensions) -> Result<MailParams, ParamError> {
        let params: Vec<Param> = list.iter().map(|p| esmtp_param(p).expect("syntax")).collect();
        MailParams::from_params(
            &params,
            ParamContext {
                extensions: ext,
                ehlo,
            },
        )
    }

    #[test]
    fn known_mail_params() {
        let ext = Extensions::default();
        let p = parse(
            &[
                "size=1000",
                "BODY=8bitmime",
                "SMTPUTF8",
                "RET=HDRS",
                "ENVID=QQ314159",
                "AUTH=<>",
            ],
            true,
            &ext,
        )
        .expect("valid");
        assert_eq!(p.size, Some(1000));
        assert_eq!(p.body, Some(Body::EightBitMime));
        assert!(p.smtputf8);
        assert_eq!(p.ret, Some(Ret::Headers));
        assert_eq!(p.envid.as_deref(), Some("QQ314159"));
        assert_eq!(p.auth.as_deref(), Some("<>"));
    }

    #[test]
    fn unknown_after_helo_or_when_switched_off() {
        let ext = Extensions::default();
        assert_eq!(
            parse(&["SIZE=1"], false, &ext),
            Err(ParamError::Unknown("SIZE".into()))
        );
        let off = Extensions::none();
        assert_eq!(
            parse(&["BODY=7BIT"], true, &off),
            Err(ParamError::Unknown("BODY".into()))
        );
        assert_eq!(
            parse(&["X-FOO"], true, &ext),
            Err(ParamError::Unknown("X-FOO".into()))
        );
        assert_eq!(
            parse(&["X-FOO"], true, &ext).map_err(|e| e.reply().code()),
            Err(555)
        );
    }

    #[test]
    fn invalid_values() {
        let ext = Extensions::default();
        for bad in [
            "SIZE",
            "SIZE=abc",
            "SIZE=999999999999999999999",
            "BODY=BINARYMIME",
            "SMTPUTF8=yes",
            "RET=ALL",
        ] {
            let err = parse(&[bad], true, &ext).expect_err(bad);
            assert_eq!(err.reply().code(), 501, "{bad}");
        }
        assert_eq!(
            parse(&["SIZE=1", "size=2"], true, &ext),
            Err(ParamError::Duplicate("SIZE".into()))
        );
    }

    #[test]
    fn param_syntax() {
        assert!(esmtp_param("-X").is_err());
        assert!(esmtp_param("X=").is_err());
        assert!(esmtp_param("X=a=b").is_err());
        assert!(esmtp_param("").is_err());
        assert_eq!(
            esmtp_param("orcpt=rfc822;a@b").map(|p| p.keyword),
            Ok("ORCPT".to_owned())
        );
    }
}
