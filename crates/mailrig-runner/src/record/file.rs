//! The scenario file on disk, written as the recording goes: appended to and flushed per
//! event, rewritten (to a temporary file renamed over it) only when the header changes.
//!
//! Why it is always valid: the body only ever grows by whole lines, and the header is
//! rewritten before any line of a new session is appended, so a crash or Ctrl-C at any
//! moment leaves a file `mailrig check` accepts. The rename is atomic, so a crash during a
//! rewrite leaves the old file (without the newest session's lines) rather than half of one.
//! Large literals go to `STEM.literals/N.bin` beside the file, written as they arrive.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::assemble::LiteralSink;

/// The scenario file and its literal files.
#[derive(Debug)]
pub struct ScenarioFile {
    path: PathBuf,
    file: Option<File>,
    /// Bytes of the header at the top of the file.
    header_len: u64,
    literals: HashMap<usize, File>,
    next_literal: usize,
    /// The first literal file error (the sink interface cannot return one).
    error: Option<io::Error>,
}

impl ScenarioFile {
    /// A file at `path`, created on the first write.
    pub fn new(path: impl Into<PathBuf>) -> ScenarioFile {
        ScenarioFile {
            path: path.into(),
            file: None,
            header_len: 0,
            literals: HashMap::new(),
            next_literal: 0,
            error: None,
        }
    }

    /// Where the scenario is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many literal files were written.
    pub fn literal_files(&self) -> usize {
        self.next_literal
    }

    /// Writes a new header (if given) and appends body text, then flushes.
    pub fn write(&mut self, header: Option<&str>, body: &str) -> io::Result<()> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        if let Some(header) = header {
            self.set_header(header)?;
        }
        if body.is_empty() {
            return Ok(());
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the header must be written before the body"))?;
        file.write_all(body.as_bytes())?;
        file.flush()
    }

    fn set_header(&mut self, header: &str) -> io::Result<()> {
        let Some(old) = self.file.take() else {
            let mut file = File::create(&self.path)?;
            file.write_all(header.as_bytes())?;
            file.flush()?;
            self.file = Some(file);
            self.header_len = header.len() as u64;
            return Ok(());
        };
        let temp = self.temp_path();
        let mut new = File::create(&temp)?;
        new.write_all(header.as_bytes())?;
        drop(old);
        let mut reader = File::open(&self.path)?;
        reader.seek(SeekFrom::Start(self.header_len))?;
        io::copy(&mut reader, &mut new)?;
        new.sync_all()?;
        drop(new);
        std::fs::rename(&temp, &self.path)?;
        self.file = Some(OpenOptions::new().append(true).open(&self.path)?);
        self.header_len = header.len() as u64;
        Ok(())
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        self.path.with_file_name(name)
    }

    /// `bug.literals` for `bug.scenario`, next to it.
    fn literals_dir(&self) -> (PathBuf, String) {
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "recording".to_owned(), |s| s.to_string_lossy().into_owned());
        let dir = format!("{stem}.literals");
        (self.path.with_file_name(&dir), dir)
    }

    fn fail(&mut self, error: io::Error) {
        self.error.get_or_insert(error);
    }
}

impl LiteralSink for ScenarioFile {
    fn begin(&mut self) -> (usize, String) {
        self.next_literal += 1;
        let id = self.next_literal;
        let (dir, relative) = self.literals_dir();
        let name = format!("{id}.bin");
        match std::fs::create_dir_all(&dir).and_then(|()| File::create(dir.join(&name))) {
            Ok(file) => {
                self.literals.insert(id, file);
            }
            Err(e) => self.fail(e),
        }
        (id, format!("{relative}/{name}"))
    }

    fn write(&mut self, id: usize, bytes: &[u8]) {
        let result = match self.literals.get_mut(&id) {
            Some(file) => file.write_all(bytes),
            None => Ok(()),
        };
        if let Err(e) = result {
            self.fail(e);
        }
    }

    fn discard(&mut self, id: usize) {
        if self.literals.remove(&id).is_some() {
            let (dir, _) = self.literals_dir();
            drop(std::fs::remove_file(dir.join(format!("{id}.bin"))));
        }
    }

    fn end(&mut self, id: usize) {
        if let Some(mut file) = self.literals.remove(&id)
            && let Err(e) = file.flush()
        {
            self.fail(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_header_keeps_the_body_and_appends_continue() {
        let dir = std::env::temp_dir().join(format!("mailrig-record-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("x.scenario");
        let mut file = ScenarioFile::new(&path);
        file.write(Some("name: x\nsessions: s1=imap\n\n"), "s1 C: a\n")
            .expect("write");
        file.write(None, "s1 S: b\n").expect("write");
        file.write(Some("name: x\nsessions: s1=imap, s2=imap\n\n"), "s2 C: c\n")
            .expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "name: x\nsessions: s1=imap, s2=imap\n\ns1 C: a\ns1 S: b\ns2 C: c\n"
        );
        let (id, relative) = file.begin();
        LiteralSink::write(&mut file, id, b"data");
        file.end(id);
        assert_eq!(relative, "x.literals/1.bin");
        assert_eq!(std::fs::read(dir.join(relative)).expect("literal"), b"data");
        let (id, relative) = file.begin();
        file.discard(id);
        assert!(!dir.join(relative).exists(), "a discarded literal leaves no file");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
