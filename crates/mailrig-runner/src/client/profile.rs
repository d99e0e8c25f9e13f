//! Client profiles: TOML files that say how to make one mail client do each flow, with
//! placeholders for where mailrig's servers listen and what to log in with. The reference for
//! users is `docs/client-profiles.md`; every error names `file:line:col`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::client::template::{Template, TemplateError};
use crate::client::{Flow, TlsMode};

/// The placeholders every template may use (beside the profile's own `[modes.*]` names).
pub const BUILTINS: [&str; 19] = [
    "host",
    "smtp_port",
    "relay_port",
    "imap_port",
    "smtp_url",
    "imap_url",
    "tls",
    "user",
    "password",
    "password_file",
    "from",
    "to",
    "ca_file",
    "message_file",
    "work_dir",
    "profile_dir",
    "mailbox",
    "target_mailbox",
    "uid",
];

/// A loaded, checked profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The client's name (`name =`, else the file stem).
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// The TLS modes the client supports, in the file's order.
    pub modes: Vec<TlsMode>,
    /// Per mode, the profile's own placeholders.
    pub mode_vars: BTreeMap<TlsMode, BTreeMap<String, ModeVar>>,
    /// Files written before every flow.
    pub files: Vec<FileSpec>,
    /// The flows the client can do.
    pub flows: BTreeMap<Flow, FlowSpec>,
}

/// A profile placeholder's value in one mode.
#[derive(Debug, Clone)]
pub enum ModeVar {
    /// A string (may use the built-in placeholders).
    Text(Template),
    /// argv elements, spliced in where the placeholder is a whole argv element.
    List(Vec<Template>),
}

/// A file written before the client runs (a configuration file, say).
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Where (usually under `{work_dir}`).
    pub path: Template,
    /// What.
    pub content: Template,
}

/// How to run something: an argv list, or a shell command line (`sh -c`, placeholders
/// shell-quoted).
#[derive(Debug, Clone)]
pub enum Command {
    /// Program and arguments; no shell.
    Argv(Vec<Template>),
    /// A command line for `sh -c`.
    Shell(Template),
}

/// How a flow's output is compared with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compare {
    /// Byte for byte.
    #[default]
    Exact,
    /// After turning every CRLF into LF on both sides (clients that store Unix line ends).
    Newlines,
}

/// One flow of a profile.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    /// What to run.
    pub command: Command,
    /// The modes this flow runs in (default: the profile's).
    pub modes: Vec<TlsMode>,
    /// How long the client may take (each run, for `sync` each of the two).
    pub timeout: Duration,
    /// Where the fetched message ends up: `stdout`, or a file path template.
    pub output: Option<Output>,
    /// How `output` is compared.
    pub compare: Compare,
    /// Files written before this flow runs (after the profile's).
    pub files: Vec<FileSpec>,
    /// The exit status that means success.
    pub exit: i32,
    /// Whether the message file ends with its final CRLF (clients that add one themselves
    /// get `false`).
    pub final_newline: bool,
    /// `sync`: run between the two runs, to change something locally.
    pub between: Option<Command>,
    /// `sync`: run after the second run; exit 0 means the local side is right.
    pub verify: Option<Command>,
}

/// Where a flow's output is read.
#[derive(Debug, Clone)]
pub enum Output {
    /// The client's standard output.
    Stdout,
    /// A file the client writes.
    File(Template),
}

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read profile {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid profile.
    #[error("{file}:{line}:{col}: {message}\n  |\n  | {source_line}\n  | {caret}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        col: usize,
        /// What is wrong and what was expected.
        message: String,
        /// The line, for display.
        source_line: String,
        /// A caret under the column.
        caret: String,
    },
}

impl Profile {
    /// Reads and checks the profile at `path`.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Profile::parse(path, &text)
    }

    /// Parses profile text; `path` names it and gives the default name.
    pub fn parse(path: &Path, text: &str) -> Result<Profile, ProfileError> {
        let file = path.display().to_string();
        let at = |offset: usize, message: String| invalid(&file, text, offset, message);
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, e.message().trim().to_owned())
        })?;
        let builder = Builder { text, at: &at };
        builder.profile(path, raw)
    }

    /// The modes `flow` runs in.
    pub fn modes_of(&self, flow: Flow) -> &[TlsMode] {
        self.flows.get(&flow).map_or(&[], |f| f.modes.as_slice())
    }
}

fn invalid(file: &str, text: &str, offset: usize, message: String) -> ProfileError {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[start..offset].chars().count() + 1;
    let source_line = text[start..].lines().next().unwrap_or("").to_owned();
    ProfileError::Invalid {
        file: file.to_owned(),
        line,
        col,
        message,
        source_line,
        caret: format!("{}^", " ".repeat(col - 1)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProfile {
    name: Option<String>,
    tls: Vec<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    modes: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    #[serde(default)]
    files: Vec<RawFile>,
    flows: Spanned<BTreeMap<Spanned<String>, Spanned<RawFlow>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: Spanned<String>,
    content: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFlow {
    command: Option<Vec<Spanned<String>>>,
    shell: Option<Spanned<String>>,
    tls: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<String>>,
    output: Option<Spanned<String>>,
    #[serde(default)]
    compare: Compare,
    #[serde(default)]
    files: Vec<RawFile>,
    #[serde(default)]
    exit: i32,
    #[serde(default = "yes")]
    final_newline: bool,
    between: Option<Spanned<RawCommand>>,
    verify: Option<Spanned<RawCommand>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    command: Option<Vec<Spanned<String>>>,
    shell: Option<Spanned<String>>,
}

/// Turns raw TOML into a checked profile, with positions for every error.
struct Builder<'a> {
    text: &'a str,
    at: &'a dyn Fn(usize, String) -> ProfileError,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Builder<'_> {
    fn profile(&self, path: &Path, raw: RawProfile) -> Result<Profile, ProfileError> {
        let modes = self.modes(&raw.tls)?;
        let mode_vars = self.mode_vars(&modes, &raw.modes)?;
        let names: Vec<String> = mode_vars
            .values()
            .next()
            .map(|vars| vars.keys().cloned().collect())
            .unwrap_or_default();
        let lists: Vec<String> = mode_vars
            .values()
            .flat_map(|vars| vars.iter())
            .filter(|(_, v)| matches!(v, ModeVar::List(_)))
            .map(|(k, _)| k.clone())
            .collect();
        let scope = Scope { names, lists };
        let timeout = self.timeout(raw.timeout.as_ref(), DEFAULT_TIMEOUT)?;
        let files = self.files(&raw.files, &scope)?;
        let mut flows = BTreeMap::new();
        if raw.flows.get_ref().is_empty() {
            return Err((self.at)(
                raw.flows.span().start,
                "a profile needs at least one flow under [flows]".into(),
            ));
        }
        for (name, flow) in raw.flows.into_inner() {
            let Some(kind) = Flow::from_keyword(name.get_ref()) else {
                return Err((self.at)(
                    name.span().start,
                    format!(
                        "unknown flow `{}`: expected one of {}",
                        name.get_ref(),
                        Flow::list()
                    ),
                ));
            };
            flows.insert(kind, self.flow(kind, flow, &modes, timeout, &scope)?);
        }
        let name = raw.name.unwrap_or_else(|| {
            path.file_stem()
                .map_or_else(|| "client".to_owned(), |s| s.to_string_lossy().into_owned())
        });
        Ok(Profile {
            name,
            path: path.to_owned(),
            modes,
            mode_vars,
            files,
            flows,
        })
    }

    fn modes(&self, raw: &[Spanned<String>]) -> Result<Vec<TlsMode>, ProfileError> {
        let mut modes = Vec::new();
        for mode in raw {
            let parsed = TlsMode::from_keyword(mode.get_ref()).ok_or_else(|| {
                (self.at)(
                    self.inner(mode.span().start),
                    format!(
                        "unknown TLS mode `{}`: expected `none`, `starttls` or `tls`",
                        mode.get_ref()
                    ),
                )
            })?;
            if !modes.contains(&parsed) {
                modes.push(parsed);
            }
        }
        Ok(modes)
    }

    fn mode_vars(
        &self,
        modes: &[TlsMode],
        raw: &BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    ) -> Result<BTreeMap<TlsMode, BTreeMap<String, ModeVar>>, ProfileError> {
        let mut out = BTreeMap::new();
        let mut first: Option<(Vec<String>, usize)> = None;
        for (mode_name, vars) in raw {
            let Some(mode) = TlsMode::from_keyword(mode_name.get_ref()).filter(|m| modes.contains(m)) else {
                return Err((self.at)(
                    mode_name.span().start,
                    format!(
                        "`[modes.{}]` is not one of the profile's `tls` modes",
                        mode_name.get_ref()
                    ),
                ));
            };
            let mut table = BTreeMap::new();
            for (name, value) in vars {
                if BUILTINS.contains(&name.get_ref().as_str()) {
                    return Err((self.at)(
                        name.span().start,
                        format!(
                            "`{}` is a built-in placeholder; pick another name",
                            name.get_ref()
                        ),
                    ));
                }
                table.insert(name.get_ref().clone(), self.mode_var(value)?);
            }
            let keys: Vec<String> = table.keys().cloned().collect();
            match &first {
                Some((expected, _)) if *expected != keys => {
                    return Err((self.at)(
                        mode_name.span().start,
                        format!(
                            "every `[modes.*]` table must define the same names: expected {expected:?}, found {keys:?}"
                        ),
                    ));
                }
                Some(_) => {}
                None => first = Some((keys, mode_name.span().start)),
            }
            out.insert(mode, table);
        }
        if let Some((names, offset)) = first
            && !names.is_empty()
            && let Some(missing) = modes.iter().find(|m| !out.contains_key(m))
        {
            return Err((self.at)(
                offset,
                format!(
                    "the profile supports `{}` but has no `[modes.{}]` table defining {names:?}",
                    missing.keyword(),
                    missing.keyword()
                ),
            ));
        }
        Ok(out)
    }

    fn mode_var(&self, value: &Spanned<toml::Value>) -> Result<ModeVar, ProfileError> {
        let start = value.span().start;
        let builtin = |name: &str| BUILTINS.contains(&name);
        match value.get_ref() {
            toml::Value::String(text) => Ok(ModeVar::Text(self.template_at(text, start, &builtin)?)),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    toml::Value::String(text) => self.template_at(text, start, &builtin),
                    _ => Err((self.at)(
                        start,
                        "a mode placeholder's list holds only strings".into(),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(ModeVar::List),
            _ => Err((self.at)(
                start,
                "a mode placeholder is a string or a list of strings".into(),
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn flow(
        &self,
        kind: Flow,
        raw: Spanned<RawFlow>,
        modes: &[TlsMode],
        timeout: Duration,
        scope: &Scope,
    ) -> Result<FlowSpec, ProfileError> {
        let start = raw.span().start;
        let raw = raw.into_inner();
        let command = self
            .command(raw.command.as_deref(), raw.shell.as_ref(), scope)?
            .ok_or_else(|| {
                (self.at)(
                    start,
                    format!(
                        "flow `{}` needs `command = [...]` or `shell = \"...\"`",
                        kind.keyword()
                    ),
                )
            })?;
        let flow_modes = match &raw.tls {
            None => modes.to_vec(),
            Some(list) => {
                let parsed = self.modes(list)?;
                if let Some((mode, span)) = parsed.iter().zip(list).find(|(m, _)| !modes.contains(m)) {
                    return Err((self.at)(
                        self.inner(span.span().start),
                        format!(
                            "flow `{}` lists `{}`, which is not in the profile's `tls`",
                            kind.keyword(),
                            mode.keyword()
                        ),
                    ));
                }
                parsed
            }
        };
        let output = match &raw.output {
            None if kind == Flow::Fetch => {
                return Err((self.at)(start, "flow `fetch` needs `output` (`\"stdout\"` or a file path): mailrig compares it with the message".into()));
            }
            None => None,
            Some(text) if text.get_ref() == "stdout" => Some(Output::Stdout),
            Some(text) => Some(Output::File(self.template(text, scope)?)),
        };
        let sync_only = [("between", raw.between.as_ref()), ("verify", raw.verify.as_ref())];
        for (key, value) in sync_only {
            if let Some(value) = value
                && kind != Flow::Sync
            {
                return Err((self.at)(
                    value.span().start,
                    format!("`{key}` belongs to the `sync` flow only"),
                ));
            }
        }
        if kind == Flow::Sync && raw.between.is_none() {
            return Err((self.at)(start, "flow `sync` needs `between = { command = [...] }` (or `shell`): what the client changes locally between its two runs".into()));
        }
        let nested = |c: Option<&Spanned<RawCommand>>| -> Result<Option<Command>, ProfileError> {
            let Some(c) = c else { return Ok(None) };
            let at = c.span().start;
            let inner = c.get_ref();
            self.command(inner.command.as_deref(), inner.shell.as_ref(), scope)?
                .map(Some)
                .ok_or_else(|| (self.at)(at, "needs `command = [...]` or `shell = \"...\"`".into()))
        };
        Ok(FlowSpec {
            command,
            modes: flow_modes,
            timeout: self.timeout(raw.timeout.as_ref(), timeout)?,
            output,
            compare: raw.compare,
            files: self.files(&raw.files, scope)?,
            exit: raw.exit,
            final_newline: raw.final_newline,
            between: nested(raw.between.as_ref())?,
            verify: nested(raw.verify.as_ref())?,
        })
    }

    fn command(
        &self,
        argv: Option<&[Spanned<String>]>,
        shell: Option<&Spanned<String>>,
        scope: &Scope,
    ) -> Result<Option<Command>, ProfileError> {
        match (argv, shell) {
            (Some(_), Some(shell)) => Err((self.at)(
                shell.span().start,
                "give `command` or `shell`, not both".into(),
            )),
            (Some([]), None) => Err((self.at)(
                0,
                "`command` is empty: it needs at least the program".into(),
            )),
            (Some(argv), None) => {
                let mut out = Vec::new();
                for (i, arg) in argv.iter().enumerate() {
                    let template = self.template(arg, scope)?;
                    if i == 0
                        && template
                            .alone()
                            .is_some_and(|n| scope.lists.iter().any(|l| l == n))
                    {
                        return Err((self.at)(
                            self.inner(arg.span().start),
                            "the program cannot be a list placeholder".into(),
                        ));
                    }
                    self.lists_alone(&template, arg, scope, true)?;
                    out.push(template);
                }
                Ok(Some(Command::Argv(out)))
            }
            (None, Some(shell)) => Ok(Some(Command::Shell(self.template(shell, scope)?))),
            (None, None) => Ok(None),
        }
    }

    /// A list placeholder must be a whole argv element (`in_argv`), and nowhere else.
    fn lists_alone(
        &self,
        template: &Template,
        raw: &Spanned<String>,
        scope: &Scope,
        in_argv: bool,
    ) -> Result<(), ProfileError> {
        let alone = template.alone();
        for name in template.names() {
            let is_list = scope.lists.iter().any(|l| l == name);
            if is_list && !(in_argv && alone == Some(name)) {
                let offset = raw.get_ref().find(&format!("{{{name}}}")).unwrap_or(0);
                return Err((self.at)(
                    self.inner(raw.span().start) + offset,
                    format!("`{{{name}}}` is a list: it can only stand alone as a whole `command` element"),
                ));
            }
        }
        Ok(())
    }

    fn files(&self, raw: &[RawFile], scope: &Scope) -> Result<Vec<FileSpec>, ProfileError> {
        raw.iter()
            .map(|f| {
                let path = self.template(&f.path, scope)?;
                let content = self.template(&f.content, scope)?;
                self.lists_alone(&path, &f.path, scope, false)?;
                self.lists_alone(&content, &f.content, scope, false)?;
                Ok(FileSpec { path, content })
            })
            .collect()
    }

    fn timeout(&self, raw: Option<&Spanned<String>>, default: Duration) -> Result<Duration, ProfileError> {
        let Some(raw) = raw else { return Ok(default) };
        mailrig_transcript::scenario::parse_duration(raw.get_ref())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                (self.at)(
                    self.inner(raw.span().start),
                    format!(
                        "`{}` is not a duration: expected e.g. `30s` or `500ms`",
                        raw.get_ref()
                    ),
                )
            })
    }

    /// Parses a string value's placeholders; known names are the built-ins and the scope's.
    fn template(&self, raw: &Spanned<String>, scope: &Scope) -> Result<Template, ProfileError> {
        let known = |name: &str| BUILTINS.contains(&name) || scope.names.iter().any(|n| n == name);
        self.template_at(raw.get_ref(), raw.span().start, &known)
    }

    fn template_at(
        &self,
        text: &str,
        start: usize,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<Template, ProfileError> {
        Template::parse(text, known).map_err(|TemplateError { offset, message }| {
            let message = format!("{message}: expected one of {}", known_list(known));
            (self.at)(self.locate(start, text, offset), message)
        })
    }

    /// The file offset of byte `offset` of a string value whose TOML token starts at `start`:
    /// past the opening quotes, and exact when the string has no escapes before it.
    fn locate(&self, start: usize, value: &str, offset: usize) -> usize {
        let inner = self.inner(start);
        let prefix = &value[..offset.min(value.len())];
        match self.text.get(inner..) {
            Some(rest) if rest.starts_with(prefix) => inner + offset,
            _ => start,
        }
    }

    /// Where a string token's content starts: after `"`, `'`, `"""` or `'''` (and the newline
    /// that may follow a triple quote).
    fn inner(&self, start: usize) -> usize {
        let rest = self.text.get(start..).unwrap_or("");
        let quote = if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
            3
        } else if rest.starts_with('"') || rest.starts_with('\'') {
            1
        } else {
            0
        };
        let after = start + quote;
        let newline = if quote == 3 {
            let tail = self.text.get(after..).unwrap_or("");
            if tail.starts_with("\r\n") {
                2
            } else {
                usize::from(tail.starts_with('\n'))
            }
        } else {
            0
        };
        after + newline
    }
}

/// The names a template may use beyond the built-ins, and which of them are lists.
struct Scope {
    names: Vec<String>,
    lists: Vec<String>,
}

fn known_list(known: &dyn Fn(&str) -> bool) -> String {
    let mut names: Vec<String> = BUILTINS.iter().map(|n| format!("{{{n}}}")).collect();
    names.retain(|n| known(&n[1..n.len() - 1]));
    names.join(", ") + " (or a name from the profile's [modes.*] tables)"
}

#[cfg(test)]
mod tests;
