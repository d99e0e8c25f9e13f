//! BINARY (RFC 3516): FETCH `BINARY[section-binary]<partial>`, `BINARY.PEEK[...]` and
//! `BINARY.SIZE[...]` return a part's content after undoing its Content-Transfer-Encoding
//! (base64, quoted-printable; identity encodings as they are), and APPEND takes `literal8`.
//!
//! Read first: RFC 3516 §4.2 (FETCH: "the server MUST respond with a tagged NO response
//! [UNKNOWN-CTE]" for an encoding it cannot decode), §4.3 (`literal8 = "~{" number "}"`,
//! used by a response only when the data holds a NUL), §5 (`section-binary = "[" [section-part]
//! "]"`), RFC 2045 §6.7 (quoted-printable) and §6.8 (base64).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::completion::Refusal;
use crate::mime::{Kind, Part};
use crate::section::section_part;

/// A parsed `BINARY`, `BINARY.PEEK` or `BINARY.SIZE` fetch item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BinaryItem {
    /// `BINARY.PEEK` (or `BINARY.SIZE`): does not set `\Seen`.
    pub(crate) peek: bool,
    /// `BINARY.SIZE`: the decoded size, not the data.
    pub(crate) size: bool,
    /// `section-part`, empty for the whole message.
    pub(crate) part: Vec<u32>,
    /// `<origin.count>`.
    pub(crate) partial: Option<(usize, usize)>,
    /// The item's name in the response (`BINARY[1]<0>`, `BINARY.SIZE[2]`).
    pub(crate) name: String,
}

impl BinaryItem {
    /// `"BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary` (RFC
    /// 3516 §5), upper-cased; `None` if `item` is not one.
    pub(crate) fn parse(item: &str) -> Option<BinaryItem> {
        let (peek, size, rest) = if let Some(rest) = item.strip_prefix("BINARY.PEEK[") {
            (true, false, rest)
        } else if let Some(rest) = item.strip_prefix("BINARY.SIZE[") {
            (true, true, rest)
        } else {
            (false, false, item.strip_prefix("BINARY[")?)
        };
        let (inner, after) = rest.split_once(']')?;
        let (part, "") = section_part(inner)? else {
            return None;
        };
        let partial = match after {
            "" => None,
            _ if size => return None,
            _ => {
                let (origin, count) = after.strip_prefix('<')?.strip_suffix('>')?.split_once('.')?;
                let count: usize = count.parse().ok()?;
                (count > 0).then_some(())?;
                Some((origin.parse().ok()?, count))
            }
        };
        let kind = if size { "BINARY.SIZE" } else { "BINARY" };
        let mut name = format!("{kind}[{inner}]");
        if let Some((origin, _)) = partial {
            name.push_str(&format!("<{origin}>"));
        }
        Some(BinaryItem {
            peek,
            size,
            part,
            partial,
            name,
        })
    }

    /// The decoded section, whole (no partial); a part that does not exist is empty (as
    /// `BODY[...]` of one is). `Err` for an encoding this server cannot undo.
    pub(crate) fn decoded(&self, raw: &[u8], tree: &Part) -> Result<Vec<u8>, Refusal> {
        self.content(raw, tree, false)
    }

    /// The section, decoded unless `encoded` (the defect `binary-not-decoded`).
    fn content(&self, raw: &[u8], tree: &Part, encoded: bool) -> Result<Vec<u8>, Refusal> {
        if self.part.is_empty() {
            // The whole message has no transfer encoding of its own: its header is text.
            return Ok(raw.to_vec());
        }
        let Some(part) = tree.part(&self.part) else {
            return Ok(Vec::new());
        };
        let body = raw.get(part.body.clone()).unwrap_or_default();
        if !matches!(part.kind, Kind::Leaf) || encoded {
            // RFC 2045 §6.4: a multipart or message/rfc822 part has an identity encoding.
            return Ok(body.to_vec());
        }
        let encoding = part
            .field(raw, "content-transfer-encoding")
            .map(|value| String::from_utf8_lossy(value).trim().to_ascii_lowercase())
            .unwrap_or_default();
        decode(&encoding, body)
    }

    /// Appends the item and its value to a FETCH response: the data (after the partial) as a
    /// `literal8` if it holds a NUL, else as a `literal`; or the size. A section the caller
    /// did not check with [`BinaryItem::decoded`] and that cannot be decoded is `NIL`.
    /// `encoded` sends the part as stored (the defect `binary-not-decoded`).
    pub(crate) fn write(&self, out: &mut Vec<u8>, raw: &[u8], tree: &Part, encoded: bool) {
        let Ok(bytes) = self.content(raw, tree, encoded) else {
            out.extend_from_slice(format!("{} NIL", self.name).as_bytes());
            return;
        };
        if self.size {
            out.extend_from_slice(format!("{} {}", self.name, bytes.len()).as_bytes());
            return;
        }
        let bytes = match self.partial {
            Some((origin, count)) => {
                let start = origin.min(bytes.len());
                &bytes[start..start.saturating_add(count).min(bytes.len())]
            }
            None => &bytes[..],
        };
        let tilde = if bytes.contains(&0) { "~" } else { "" };
        out.extend_from_slice(format!("{} {tilde}{{{}}}\r\n", self.name, bytes.len()).as_bytes());
        out.extend_from_slice(bytes);
    }
}

/// Undoes a Content-Transfer-Encoding (lower-case; empty means the default, 7bit).
fn decode(encoding: &str, body: &[u8]) -> Result<Vec<u8>, Refusal> {
    match encoding {
        "" | "7bit" | "8bit" | "binary" => Ok(body.to_vec()),
        "base64" => base64(body),
        "quoted-printable" => Ok(quoted_printable(body)),
        other => {
            Err(Refusal::no(format!("unknown Content-Transfer-Encoding {other}")).with_code("UNKNOWN-CTE"))
        }
    }
}

/// RFC 2045 §6.8: characters outside the base64 alphabet are ignored (line breaks); padding
/// is optional.
fn base64(body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let alphabet: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .collect();
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    GeneralPurpose::new(&base64::alphabet::STANDARD, config)
        .decode(alphabet)
        .map_err(|_| Refusal::no("the part's base64 cannot be decoded").with_code("PARSE"))
}

/// RFC 2045 §6.7: `=XX` is an octet, `=` at a line's end a soft line break, and whitespace
/// at a line's end is not data (rule 3). A `=` followed by anything else is kept.
fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut soft = true;
    for line in body.split(|&b| b == b'\n') {
        if !soft {
            out.extend_from_slice(b"\r\n");
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let end = line
            .iter()
            .rposition(|b| !b" \t".contains(b))
            .map_or(0, |p| p + 1);
        let line = &line[..end];
        soft = line.last() == Some(&b'=');
        let line = if soft { &line[..end - 1] } else { line };
        let mut j = 0;
        while j < line.len() {
            let hex = |k: usize| line.get(k).and_then(|&c| (c as char).to_digit(16));
            match (line[j], hex(j + 1), hex(j + 2)) {
                (b'=', Some(high), Some(low)) => {
                    // Two hex digits: at most 255.
                    out.push(u8::try_from(high * 16 + low).unwrap_or(b'='));
                    j += 3;
                }
                (byte, ..) => {
                    out.push(byte);
                    j += 1;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2045 §6.7 rules 1-5: `=XX`, soft breaks, trailing whitespace.
    #[test]
    fn quoted_printable_rules() {
        assert_eq!(
            quoted_printable(b"caf=C3=A9 \r\nline=\r\n two=3D\r\n"),
            b"caf\xc3\xa9\r\nline two=\r\n"
        );
        assert_eq!(quoted_printable(b"a=\r\nb"), b"ab");
        assert_eq!(quoted_printable(b"=zz=4"), b"=zz=4");
    }

    #[test]
    fn base64_with_line_breaks() {
        assert_eq!(base64(b"AAEC\r\nAw==\r\n").unwrap(), [0, 1, 2, 3]);
        assert_eq!(base64(b"AAECAw").unwrap(), [0, 1, 2, 3]);
        assert!(base64(b"A").is_err());
    }

    #[test]
    fn items() {
        let item = BinaryItem::parse("BINARY.PEEK[1.2]<3.4>").unwrap();
        assert_eq!(
            (item.peek, item.size, &item.part[..], item.partial),
            (true, false, &[1, 2][..], Some((3, 4)))
        );
        assert_eq!(item.name, "BINARY[1.2]<3>");
        assert_eq!(
            BinaryItem::parse("BINARY.SIZE[2]").unwrap().name,
            "BINARY.SIZE[2]"
        );
        assert!(BinaryItem::parse("BINARY[1.MIME]").is_none());
        assert!(BinaryItem::parse("BINARY[HEADER]").is_none());
        assert!(BinaryItem::parse("BINARY.SIZE[1]<0.2>").is_none());
    }
}
