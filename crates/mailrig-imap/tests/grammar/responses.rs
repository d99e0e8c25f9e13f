//! A recognizer for the response shapes imap-codec 2.0.0-alpha.10 cannot decode, so the
//! codec oracle cannot check them: `esearch-response` with RFC 5267's `ADDTO`, `REMOVEFROM`
//! and `PARTIAL` (RFC 4731 §3.1, RFC 5267 §5, RFC 9051 §9) and `mailbox-list` with
//! `mbox-list-extended` (RFC 5258 §9; `OLDNAME`, RFC 5465 §5.4 / RFC 9051 §9; `CHILDINFO`).
//! It is strict: only the return data and extended items mailrig writes are known, quoted
//! strings and atoms only (no literals), and anything else is an error naming the rule.

/// Checks one response line (without CRLF) as `"*" SP esearch-response`.
pub(crate) fn esearch(line: &str) -> Result<(), String> {
    let mut p = Parser::new(line);
    p.word("* ESEARCH")?;
    // search-correlator = SP "(" "TAG" SP tag-string ")"
    if p.peek_str(" (") {
        p.word(" (TAG ")?;
        p.string()?;
        p.word(")")?;
    }
    if p.peek_str(" UID") && !p.peek_str(" UIDNEXT") {
        p.word(" UID")?;
    }
    while !p.done() {
        p.word(" ")?;
        let name = p.atom()?.to_ascii_uppercase();
        p.word(" ")?;
        match name.as_str() {
            "MIN" | "MAX" => p.nz_number().map(drop)?,
            "COUNT" => p.number().map(drop)?,
            "ALL" => p.sequence_set()?,
            "MODSEQ" => p.nz_number().map(drop)?,
            // ret-data-partial = "PARTIAL" SP "(" partial-range SP partial-results ")"
            "PARTIAL" => {
                p.word("(")?;
                p.nz_number()?;
                p.word(":")?;
                p.nz_number()?;
                p.word(" ")?;
                if !p.eat("NIL") {
                    p.sequence_set()?;
                }
                p.word(")")?;
            }
            // "ADDTO" / "REMOVEFROM" SP "(" context-position SP sequence-set
            //     *(SP context-position SP sequence-set) ")"
            "ADDTO" | "REMOVEFROM" => {
                p.word("(")?;
                loop {
                    p.number()?;
                    p.word(" ")?;
                    p.sequence_set()?;
                    if !p.eat(" ") {
                        break;
                    }
                }
                p.word(")")?;
            }
            other => return Err(p.error(&format!("unknown search-return-data {other}"))),
        }
    }
    Ok(())
}

/// Checks one response line (without CRLF) as `"*" SP "LIST" SP mailbox-list`, with an
/// optional `SP mbox-list-extended`.
pub(crate) fn list(line: &str) -> Result<(), String> {
    let mut p = Parser::new(line);
    p.word("* LIST (")?;
    // mbx-list-flags: flags of the form "\" atom, one space apart.
    let mut first = true;
    while !p.eat(")") {
        if !first {
            p.word(" ")?;
        }
        p.word("\\")?;
        p.atom()?;
        first = false;
    }
    p.word(" ")?;
    // (DQUOTE QUOTED-CHAR DQUOTE / nil)
    if !p.eat("NIL") {
        p.word("\"")?;
        p.next_char()?;
        p.word("\"")?;
    }
    p.word(" ")?;
    p.astring()?;
    if p.done() {
        return Ok(());
    }
    // mbox-list-extended = "(" [mbox-list-extended-item *(SP mbox-list-extended-item)] ")"
    p.word(" (")?;
    let mut first = true;
    while !p.eat(")") {
        if !first {
            p.word(" ")?;
        }
        first = false;
        let tag = p.astring()?.to_ascii_uppercase();
        p.word(" (")?;
        match tag.as_str() {
            // "OLDNAME" SP "(" mailbox ")"
            "OLDNAME" => {
                p.astring()?;
            }
            // "CHILDINFO" SP "(" list-select-base-opt-quoted *(SP ...) ")"
            "CHILDINFO" => {
                p.string()?;
                while p.eat(" ") {
                    p.string()?;
                }
            }
            other => return Err(p.error(&format!("unknown mbox-list-extended-item {other}"))),
        }
        p.word(")")?;
    }
    if !p.done() {
        return Err(p.error("text after mbox-list-extended"));
    }
    Ok(())
}

/// A cursor over one line.
struct Parser<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn new(line: &'a str) -> Parser<'a> {
        Parser { line, at: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.line[self.at..]
    }

    fn done(&self) -> bool {
        self.at == self.line.len()
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at {} in {:?}", self.at, self.line)
    }

    fn peek_str(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    fn eat(&mut self, s: &str) -> bool {
        let found = self.peek_str(s);
        if found {
            self.at += s.len();
        }
        found
    }

    fn word(&mut self, s: &str) -> Result<(), String> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {s:?}")))
        }
    }

    fn next_char(&mut self) -> Result<char, String> {
        let c = self
            .rest()
            .chars()
            .next()
            .ok_or_else(|| self.error("end of line"))?;
        self.at += c.len_utf8();
        Ok(c)
    }

    /// Takes the longest run of characters `keep` accepts; at least one.
    fn run(&mut self, what: &str, keep: impl Fn(char) -> bool) -> Result<&'a str, String> {
        let len = self.rest().find(|c| !keep(c)).unwrap_or(self.rest().len());
        if len == 0 {
            return Err(self.error(&format!("expected {what}")));
        }
        let taken = &self.rest()[..len];
        self.at += len;
        Ok(taken)
    }

    /// `number = 1*DIGIT` (up to 2^32 - 1).
    fn number(&mut self) -> Result<u32, String> {
        let digits = self.run("a number", |c| c.is_ascii_digit())?;
        digits.parse().map_err(|_| self.error("a number out of range"))
    }

    /// `nz-number = digit-nz *DIGIT`.
    fn nz_number(&mut self) -> Result<u32, String> {
        if self.peek_str("0") {
            return Err(self.error("expected a nz-number"));
        }
        self.number()
    }

    /// `seq-number = nz-number / "*"`, `seq-range = seq-number ":" seq-number`,
    /// `sequence-set = (seq-number / seq-range) ["," sequence-set]`.
    fn sequence_set(&mut self) -> Result<(), String> {
        loop {
            self.seq_number()?;
            if self.eat(":") {
                self.seq_number()?;
            }
            if !self.eat(",") {
                return Ok(());
            }
        }
    }

    fn seq_number(&mut self) -> Result<(), String> {
        if self.eat("*") {
            return Ok(());
        }
        self.nz_number().map(drop)
    }

    /// `atom = 1*ATOM-CHAR`.
    fn atom(&mut self) -> Result<&'a str, String> {
        self.run("an atom", is_atom_char)
    }

    /// `string = quoted` (literals are not handled): the unescaped contents.
    fn string(&mut self) -> Result<String, String> {
        self.word("\"")?;
        let mut text = String::new();
        loop {
            match self.next_char()? {
                '"' => return Ok(text),
                '\\' => match self.next_char()? {
                    c @ ('"' | '\\') => text.push(c),
                    _ => return Err(self.error("a backslash before neither \" nor \\")),
                },
                '\r' | '\n' => return Err(self.error("CR or LF in a quoted string")),
                c => text.push(c),
            }
        }
    }

    /// `astring = 1*ASTRING-CHAR / string` (`ASTRING-CHAR = ATOM-CHAR / resp-specials`).
    fn astring(&mut self) -> Result<String, String> {
        if self.peek_str("\"") {
            return self.string();
        }
        self.run("an astring", |c| is_atom_char(c) || c == ']')
            .map(str::to_owned)
    }
}

/// `ATOM-CHAR = <any CHAR except atom-specials>`; `atom-specials = "(" / ")" / "{" / SP /
/// CTL / list-wildcards / quoted-specials / resp-specials`.
fn is_atom_char(c: char) -> bool {
    c.is_ascii_graphic() && !"(){%*\"\\]".contains(c)
}
