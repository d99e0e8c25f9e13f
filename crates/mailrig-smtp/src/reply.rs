//! SMTP replies: a three-digit code, an optional enhanced status code, and text lines.
//!
//! Read first: RFC 5321 §4.2 (reply syntax, multi-line replies) and §4.2.2–§4.2.3 (codes),
//! RFC 3463 §2–§3 (enhanced status codes), RFC 2034 §3 (which replies carry them: all but the
//! greeting, the HELO/EHLO reply and 3xx intermediate replies).
//!
//! Reply codes this crate uses, and why (RFC 3463 code in brackets):
//!
//! | situation | reply |
//! |---|---|
//! | unknown verb, bare CR/LF/NUL or non-UTF-8 in a command | `500 [5.5.2]` |
//! | command line too long | `500 [5.5.6]` |
//! | bad argument syntax | `501 [5.5.4]` |
//! | verb of an extension switched off | `502 [5.5.1]` |
//! | command out of sequence | `503 [5.5.1]` |
//! | unknown MAIL/RCPT parameter | `555 [5.5.4]` |
//! | malformed sender / recipient mailbox | `553 [5.1.7]` / `553 [5.1.3]` |
//! | UTF-8 address without `SMTPUTF8` | `553 [5.6.7]` (RFC 6531 §3.5) |
//! | unknown recipient | `550 [5.1.1]` |
//! | message or `SIZE=` too big | `552 [5.3.4]` (RFC 1870 §6) |
//! | DATA text line too long | `554 [5.6.0]` |

/// An enhanced status code (RFC 3463 §2): `class "." subject "." detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject, e.g. 1 (addressing), 5 (protocol), 7 (security).
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl std::fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// One complete SMTP reply, possibly multi-line.
///
/// ```
/// use mailrig_smtp::Reply;
///
/// let reply = Reply::with_status(250, [2, 1, 0], "Ok");
/// let mut out = Vec::new();
/// reply.encode(true, &mut out);
/// assert_eq!(out, b"250 2.1.0 Ok\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    enhanced: Option<EnhancedCode>,
    lines: Vec<String>,
}

impl Reply {
    /// A one-line reply without an enhanced status code (greetings, EHLO, 3xx).
    pub fn plain(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec![text.into()],
        }
    }

    /// A one-line reply whose text is prefixed by `status` when enhanced codes are in use.
    pub fn with_status(code: u16, status: [u16; 3], text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: Some(EnhancedCode {
                class: u8::try_from(status[0]).unwrap_or(5),
                subject: status[1],
                detail: status[2],
            }),
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply (RFC 5321 §4.2.1); an empty `lines` becomes one empty line.
    pub fn multiline(code: u16, enhanced: Option<EnhancedCode>, lines: Vec<String>) -> Reply {
        let lines = if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        };
        Reply {
            code,
            enhanced,
            lines,
        }
    }

    /// The three-digit reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code, if the reply has one.
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// The text lines, without codes.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Appends the reply in wire form to `out`: `code "-" text CRLF` for every line but the
    /// last, `code SP text CRLF` for the last. With `enhanced`, each line's text is prefixed by
    /// the enhanced status code. CR and LF inside the text become spaces, so no text can
    /// inject a reply line.
    pub fn encode(&self, enhanced: bool, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (index, line) in self.lines.iter().enumerate() {
            let separator = if index == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{:03}{separator}", self.code).as_bytes());
            if let (true, Some(code)) = (enhanced, self.enhanced) {
                out.extend_from_slice(format!("{code} ").as_bytes());
            }
            out.extend(
                line.bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: &Reply, enhanced: bool) -> String {
        let mut out = Vec::new();
        reply.encode(enhanced, &mut out);
        String::from_utf8(out).expect("replies are UTF-8")
    }

    #[test]
    fn multiline_uses_dash_on_all_but_the_last_line() {
        // RFC 5321 §4.2.1 example shape.
        let r = Reply::multiline(
            250,
            None,
            vec!["foo.com greets bar.com".into(), "8BITMIME".into(), "HELP".into()],
        );
        assert_eq!(
            wire(&r, true),
            "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250 HELP\r\n"
        );
    }

    #[test]
    fn enhanced_code_only_when_asked() {
        let r = Reply::with_status(550, [5, 1, 1], "No such user");
        assert_eq!(wire(&r, true), "550 5.1.1 No such user\r\n");
        assert_eq!(wire(&r, false), "550 No such user\r\n");
    }

    #[test]
    fn text_cannot_inject_lines() {
        let r = Reply::plain(554, "bad\r\n250 ok");
        assert_eq!(wire(&r, false), "554 bad  250 ok\r\n");
    }

    #[test]
    fn empty_text_keeps_the_space() {
        // RFC 4954 §4: an empty challenge is "334 " followed by CRLF.
        assert_eq!(wire(&Reply::plain(334, ""), false), "334 \r\n");
    }
}
