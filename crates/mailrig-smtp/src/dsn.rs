//! Delivery status notification parameters: `RET`, `ENVID` on MAIL, `NOTIFY`, `ORCPT` on RCPT.
//!
//! Read first: RFC 3461 §4 (the parameters and their ABNF), §4 "xtext" (the encoding of
//! `ENVID` and `ORCPT` values), RFC 6533 §3 (the `utf-8` address type, whose values are
//! also valid xtext).

use crate::params::ParamError;

/// `RET=FULL|HDRS` (RFC 3461 §4.3): how much of the message a failure DSN returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// `FULL`: the whole message.
    Full,
    /// `HDRS`: the headers only.
    Headers,
}

/// `NOTIFY=` (RFC 3461 §4.1): when to send a DSN for one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// `NEVER`.
    Never,
    /// A comma-separated list of `SUCCESS`, `DELAY` and `FAILURE`.
    On {
        /// `SUCCESS` was listed.
        success: bool,
        /// `DELAY` was listed.
        delay: bool,
        /// `FAILURE` was listed.
        failure: bool,
    },
}

/// `ORCPT=addr-type ";" xtext` (RFC 3461 §4.2): the original recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orcpt {
    /// The address type, e.g. `rfc822` or `utf-8`, as sent.
    pub address_type: String,
    /// The address, still xtext-encoded, as sent.
    pub address: String,
}

/// `ret-value = "FULL" / "HDRS"` (case-insensitive).
pub(crate) fn ret(value: &str) -> Result<Ret, ParamError> {
    if value.eq_ignore_ascii_case("FULL") {
        Ok(Ret::Full)
    } else if value.eq_ignore_ascii_case("HDRS") {
        Ok(Ret::Headers)
    } else {
        Err(ParamError::invalid("RET", "must be FULL or HDRS"))
    }
}

/// `envid-value = xtext`, at most 100 characters (RFC 3461 §4.4).
pub(crate) fn envid(value: &str) -> Result<String, ParamError> {
    if value.len() > 100 || !xtext(value) {
        return Err(ParamError::invalid(
            "ENVID",
            "must be xtext of at most 100 characters",
        ));
    }
    Ok(value.to_owned())
}

/// `notify-esmtp-value = "NEVER" / 1#notify-list-element`, `notify-list-element =
/// "SUCCESS" / "FAILURE" / "DELAY"` (case-insensitive; no repeats).
pub(crate) fn notify(value: &str) -> Result<Notify, ParamError> {
    let bad = || ParamError::invalid("NOTIFY", "must be NEVER or a list of SUCCESS, DELAY, FAILURE");
    if value.eq_ignore_ascii_case("NEVER") {
        return Ok(Notify::Never);
    }
    let (mut success, mut delay, mut failure) = (false, false, false);
    for element in value.split(',') {
        let flag = if element.eq_ignore_ascii_case("SUCCESS") {
            &mut success
        } else if element.eq_ignore_ascii_case("DELAY") {
            &mut delay
        } else if element.eq_ignore_ascii_case("FAILURE") {
            &mut failure
        } else {
            return Err(bad());
        };
        if std::mem::replace(flag, true) {
            return Err(bad());
        }
    }
    Ok(Notify::On {
        success,
        delay,
        failure,
    })
}

/// `orcpt-value = addr-type ";" xtext`, `addr-type = atom`, at most 500 characters
/// (RFC 3461 §4.2).
pub(crate) fn orcpt(value: &str) -> Result<Orcpt, ParamError> {
    let bad = || ParamError::invalid("ORCPT", "must be addr-type;xtext of at most 500 characters");
    let (address_type, address) = value.split_once(';').ok_or_else(bad)?;
    let atom_ok = !address_type.is_empty()
        && address_type
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c));
    if value.len() > 500 || !atom_ok || address.is_empty() || !xtext(address) {
        return Err(bad());
    }
    Ok(Orcpt {
        address_type: address_type.to_owned(),
        address: address.to_owned(),
    })
}

/// `xtext = *( xchar / hexchar )`, `xchar` = `!`..`~` except `+` and `=`, `hexchar = "+"
/// 2(%x30-39 / %x41-46)` (upper-case hex only).
pub(crate) fn xtext(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hex = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b));
                if !(hex(bytes.get(i + 1)) && hex(bytes.get(i + 2))) {
                    return false;
                }
                i += 3;
            }
            b'=' => return false,
            b'!'..=b'~' => i += 1,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3461_values() {
        assert_eq!(ret("hdrs"), Ok(Ret::Headers));
        assert!(ret("BODY").is_err());
        assert_eq!(notify("NEVER"), Ok(Notify::Never));
        assert_eq!(
            notify("SUCCESS,FAILURE"),
            Ok(Notify::On {
                success: true,
                delay: false,
                failure: true
            })
        );
        assert!(notify("NEVER,SUCCESS").is_err());
        assert!(notify("SUCCESS,SUCCESS").is_err());
        assert!(notify("").is_err());
        // RFC 3461 §4.2 example.
        let o = orcpt("rfc822;Bob@Example.COM").expect("valid");
        assert_eq!(o.address_type, "rfc822");
        assert!(orcpt("rfc822").is_err());
        assert!(orcpt(";x").is_err());
    }

    #[test]
    fn xtext_grammar() {
        assert!(xtext("QQ314159"));
        assert!(xtext("a+2Bb"));
        assert!(!xtext("a+2b"));
        assert!(!xtext("a+2"));
        assert!(!xtext("a=b"));
        assert!(!xtext("a b"));
        assert!(envid(&"x".repeat(101)).is_err());
    }
}
