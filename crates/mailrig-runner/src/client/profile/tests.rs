//! Tests of the profile format: a complete profile parses; each mistake is an error at its
//! position that says what was expected.

use super::*;

const GOOD: &str = r#"
tls = ["none", "starttls"]

[modes.none]
args = []
mode = "off"

[modes.starttls]
args = ["--ssl-reqd", "--cacert", "{ca_file}"]
mode = "on"

[[files]]
path = "{work_dir}/rc"
content = """
host {host}
tls {mode}
"""

[flows.send]
command = ["client", "{args}", "--port={smtp_port}", "{message_file}"]
timeout = "5s"

[flows.fetch]
shell = "client --user {user} > {work_dir}/out"
output = "{work_dir}/out"
compare = "newlines"
tls = ["starttls"]

[flows.sync]
command = ["sync", "-c", "{work_dir}/rc"]
between = { shell = "touch {work_dir}/x" }
verify = { command = ["test", "-e", "{work_dir}/x"] }
"#;

fn parse(text: &str) -> Result<Profile, ProfileError> {
    Profile::parse(Path::new("clients/x.toml"), text)
}

/// The error's `line:col` and message.
fn error(text: &str) -> (usize, usize, String) {
    match parse(text).expect_err("invalid") {
        ProfileError::Invalid {
            line, col, message, ..
        } => (line, col, message),
        other => panic!("not a position error: {other}"),
    }
}

#[test]
fn a_complete_profile_parses() {
    let profile = parse(GOOD).expect("valid");
    assert_eq!(profile.name, "x");
    assert_eq!(profile.modes, [TlsMode::None, TlsMode::Starttls]);
    assert_eq!(profile.modes_of(Flow::Fetch), [TlsMode::Starttls]);
    assert_eq!(profile.modes_of(Flow::Send), [TlsMode::None, TlsMode::Starttls]);
    let send = &profile.flows[&Flow::Send];
    assert_eq!(send.timeout, Duration::from_secs(5));
    assert!(matches!(send.command, Command::Argv(ref a) if a.len() == 4));
    let fetch = &profile.flows[&Flow::Fetch];
    assert_eq!(fetch.compare, Compare::Newlines);
    assert!(matches!(fetch.output, Some(Output::File(_))));
    let sync = &profile.flows[&Flow::Sync];
    assert!(matches!(sync.between, Some(Command::Shell(_))));
    assert!(matches!(sync.verify, Some(Command::Argv(_))));
    assert!(matches!(profile.mode_vars[&TlsMode::Starttls]["args"], ModeVar::List(ref l) if l.len() == 3));
}

#[test]
fn an_unknown_placeholder_is_reported_at_its_column() {
    let text = "tls = [\"none\"]\n[flows.send]\ncommand = [\"c\", \"--to={too}\"]\n";
    let (line, col, message) = error(text);
    assert_eq!((line, col), (3, 23), "{message}");
    assert!(message.contains("unknown placeholder `{too}`"), "{message}");
    assert!(message.contains("{to}"), "lists what is known: {message}");
}

#[test]
fn a_placeholder_in_a_multi_line_file_template_is_located() {
    let text = "tls = [\"none\"]\n[[files]]\npath = \"rc\"\ncontent = \"\"\"\nhost {host}\nport {prot}\n\"\"\"\n[flows.send]\ncommand = [\"c\"]\n";
    let (line, col, message) = error(text);
    assert_eq!((line, col), (6, 6), "{message}");
}

#[test]
fn toml_mistakes_keep_toml_positions() {
    let (line, col, message) = error("tls = [\"none\"]\n[flows.send]\ncomand = [\"c\"]\n");
    assert_eq!((line, col), (3, 1), "{message}");
    assert!(message.contains("unknown field `comand`"), "{message}");
    let (line, _, message) = error(
        "tls = [\"none\"]\n[flows.fetch]\ncommand = [\"c\"]\noutput = \"stdout\"\ncompare = \"loose\"\n",
    );
    assert_eq!(line, 5, "{message}");
    assert!(
        message.contains("exact") && message.contains("newlines"),
        "{message}"
    );
}

#[test]
fn flows_modes_and_commands_are_checked() {
    let (line, _, message) = error("tls = [\"none\"]\n[flows.sned]\ncommand = [\"c\"]\n");
    assert_eq!(line, 2);
    assert!(
        message.contains("unknown flow `sned`") && message.contains("`send`"),
        "{message}"
    );
    let (_, _, message) = error("tls = [\"ssl\"]\n[flows.send]\ncommand = [\"c\"]\n");
    assert!(message.contains("unknown TLS mode `ssl`"), "{message}");
    let (_, _, message) = error("tls = [\"none\"]\n[flows.send]\ntls = [\"tls\"]\ncommand = [\"c\"]\n");
    assert!(message.contains("not in the profile's `tls`"), "{message}");
    let (_, _, message) = error("tls = [\"none\"]\n[flows.send]\ntimeout = \"soon\"\ncommand = [\"c\"]\n");
    assert!(message.contains("`soon` is not a duration"), "{message}");
    let (_, _, message) = error("tls = [\"none\"]\n[flows.send]\ncommand = [\"c\"]\nshell = \"c\"\n");
    assert!(message.contains("not both"), "{message}");
    let (_, _, message) = error("tls = [\"none\"]\n[flows.send]\ntimeout = \"1s\"\n");
    assert!(message.contains("needs `command"), "{message}");
}

#[test]
fn fetch_needs_output_and_sync_needs_between() {
    let (_, _, message) = error("tls = [\"none\"]\n[flows.fetch]\ncommand = [\"c\"]\n");
    assert!(message.contains("`fetch` needs `output`"), "{message}");
    let (_, _, message) = error("tls = [\"none\"]\n[flows.sync]\ncommand = [\"c\"]\n");
    assert!(message.contains("`sync` needs `between"), "{message}");
    let (_, _, message) =
        error("tls = [\"none\"]\n[flows.send]\ncommand = [\"c\"]\nbetween = { shell = \"x\" }\n");
    assert!(message.contains("`sync` flow only"), "{message}");
}

#[test]
fn mode_tables_must_agree_and_lists_stand_alone() {
    let text = "tls = [\"none\", \"tls\"]\n[modes.none]\na = []\n[modes.tls]\nb = []\n[flows.send]\ncommand = [\"c\"]\n";
    let (_, _, message) = error(text);
    assert!(message.contains("same names"), "{message}");
    let text = "tls = [\"none\", \"tls\"]\n[modes.none]\na = []\n[flows.send]\ncommand = [\"c\"]\n";
    let (_, _, message) = error(text);
    assert!(message.contains("no `[modes.tls]` table"), "{message}");
    let text =
        "tls = [\"none\"]\n[modes.none]\na = [\"-x\"]\n[flows.send]\ncommand = [\"c\", \"--opt={a}\"]\n";
    let (line, col, message) = error(text);
    assert_eq!((line, col), (5, 24), "{message}");
    assert!(message.contains("is a list"), "{message}");
    let text = "tls = [\"none\"]\n[modes.none]\nuser = \"x\"\n[flows.send]\ncommand = [\"c\"]\n";
    assert!(error(text).2.contains("built-in placeholder"));
}

#[test]
fn the_error_shows_the_line_and_a_caret() {
    let err = parse("tls = [\"none\"]\n[flows.send]\ncommand = [\"c\", \"{nope}\"]\n").expect_err("invalid");
    let shown = err.to_string();
    assert!(
        shown.starts_with("clients/x.toml:3:18: unknown placeholder `{nope}`"),
        "{shown}"
    );
    assert!(
        shown.contains("  | command = [\"c\", \"{nope}\"]\n  |                  ^"),
        "{shown}"
    );
}
