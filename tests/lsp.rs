//! `tripline lsp` over stdio, as an editor drives it: Content-Length framed
//! JSON-RPC in, diagnostics, hover and definitions out, and the exit status
//! the protocol asks for.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

const SCHEMA: &str = "\
common { timestamp: timestamp required, event_type: string required, session_id: string }
/// One call to a model.
event inference {
  /// The text the end user typed.
  user_input: string,
  output: string,
}
";

const LISTS: &str = "\
/// Phrases of prompt injection.
list injection_phrases: string = [\"ignore previous\", \"disregard the above\"]
";

const SUPPORT: &str = "\
/// Sessions under watch.
lookup watched_sessions { file: \"watched.csv\", columns: { session_id: string } }
/// What to do about an injection.
playbook injection_response {
  title: \"Injection response\"
  trigger: \"An input with an injection phrase.\"
  guide: \"End the session.\"
}
";

const RULE: &str = "\
rule demo.injection {
  title: \"Injection phrase\"
  description: \"An input with an injection phrase.\"
  severity: medium
  category: llm_attack
  playbook: injection_response
  guide: \"Read the input.\"
  match inference where user_inptu has_any injection_phrases
    or user_input contains \"jailbreak\"
    or session_id in watched_sessions.session_id
}
";

struct Session {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl Session {
    fn start(directory: &Path) -> Session {
        Session::start_with(directory, &[])
    }

    /// Starts the server with extra environment variables.
    fn start_with(directory: &Path, environment: &[(&str, &Path)]) -> Session {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
            .arg("lsp")
            .envs(environment.iter().copied())
            .current_dir(directory)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tripline lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(value) = line.strip_prefix("Content-Length: ") {
                        length = value.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                reader.read_exact(&mut body).unwrap();
                let message: Value = serde_json::from_slice(&body).expect("JSON body");
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        Session {
            child,
            stdin,
            messages,
            next_id: 1,
        }
    }

    fn send(&mut self, message: Value) {
        let body = serde_json::to_string(&message).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response (other messages before it are dropped).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait(|message| message["id"] == json!(id))
    }

    fn wait(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self
                .messages
                .recv_timeout(Duration::from_secs(60))
                .expect("the server answers within a minute");
            if wanted(&message) {
                return message;
            }
        }
    }

    fn diagnostics_of(&self, file: &Path) -> Vec<Value> {
        let uri = uri(file);
        let message = self.wait(|message| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == json!(uri)
        });
        message["params"]["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn pack(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&root);
    let rules = root.join("rules");
    std::fs::create_dir_all(rules.join("detections")).unwrap();
    std::fs::write(rules.join("schema.tdl"), SCHEMA).unwrap();
    std::fs::write(rules.join("lists.tdl"), LISTS).unwrap();
    std::fs::write(rules.join("support.tdl"), SUPPORT).unwrap();
    std::fs::write(rules.join("watched.csv"), "session_id\ns-1\n").unwrap();
    std::fs::write(rules.join("detections/demo.tdl"), RULE).unwrap();
    std::fs::canonicalize(rules).unwrap()
}

#[test]
fn a_scripted_session_checks_hovers_and_finds_definitions() {
    let rules = pack("lsp-session");
    let rule = rules.join("detections/demo.tdl");
    let mut session = Session::start(&rules);

    let initialized = session.request(
        "initialize",
        json!({"processId": null, "rootUri": uri(&rules), "capabilities": {}}),
    );
    let capabilities = &initialized["result"]["capabilities"];
    assert_eq!(capabilities["hoverProvider"], json!(true), "{initialized}");
    assert_eq!(capabilities["definitionProvider"], json!(true));
    session.notify("initialized", json!({}));

    // Opening the rule checks its whole pack (`rules/`, found by climbing
    // from `rules/detections`): the misspelt field is an error at its line.
    session.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&rule), "languageId": "tdl", "version": 1, "text": RULE}}),
    );
    let diagnostics = session.diagnostics_of(&rule);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let problem = &diagnostics[0];
    assert_eq!(problem["code"], json!("E0201"), "{problem:#}");
    assert_eq!(problem["severity"], json!(1));
    assert_eq!(problem["source"], json!("tripline"));
    assert_eq!(problem["range"]["start"]["line"], json!(7));
    assert_eq!(problem["range"]["start"]["character"], json!(24));
    assert_eq!(problem["range"]["end"]["character"], json!(34));
    assert!(
        problem["message"].as_str().unwrap().contains("user_input"),
        "the did-you-mean is in the message: {problem:#}"
    );

    // Hover on a field: its type, its event and its doc comment.
    let hover = session.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&rule)}, "position": {"line": 8, "character": 8}}),
    );
    let text = hover["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(text.contains("user_input: string"), "{hover:#}");
    assert!(text.contains("`inference`"), "{hover:#}");
    assert!(text.contains("The text the end user typed."), "{hover:#}");

    // Hover on a list: kind, element type, size, doc.
    let hover = session.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&rule)}, "position": {"line": 7, "character": 50}}),
    );
    let text = hover["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(text.contains("list injection_phrases: string"), "{hover:#}");
    assert!(text.contains("2 values"), "{hover:#}");
    assert!(text.contains("Phrases of prompt injection."), "{hover:#}");

    // Go to the list's declaration, in another file of the pack.
    let definition = session.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri(&rule)}, "position": {"line": 7, "character": 50}}),
    );
    let location = &definition["result"];
    assert_eq!(
        location["uri"],
        json!(uri(&rules.join("lists.tdl"))),
        "{definition:#}"
    );
    assert_eq!(
        location["range"]["start"],
        json!({"line": 1, "character": 5})
    );
    assert_eq!(
        location["range"]["end"],
        json!({"line": 1, "character": 22})
    );

    // A lookup (from `watched_sessions.session_id`) and a playbook (from
    // `playbook: injection_response`), both declared in another file.
    let support = uri(&rules.join("support.tdl"));
    for (line, character, declared_at, name) in [
        (9, 22, 1, "watched_sessions"),
        (5, 16, 3, "injection_response"),
    ] {
        let definition = session.request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri(&rule)}, "position": {"line": line, "character": character}}),
        );
        let location = &definition["result"];
        assert_eq!(location["uri"], json!(support), "{name}: {definition:#}");
        let start = &location["range"]["start"];
        assert_eq!(start["line"], json!(declared_at), "{name}: {definition:#}");
        let declared = SUPPORT.lines().nth(declared_at).unwrap();
        let column = start["character"].as_u64().unwrap() as usize;
        assert_eq!(
            &declared[column..column + name.len()],
            name,
            "{definition:#}"
        );
    }

    // Nothing to say on a keyword.
    let hover = session.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&rule)}, "position": {"line": 7, "character": 3}}),
    );
    assert_eq!(hover["result"], Value::Null, "{hover:#}");

    // The fix, typed but not saved, clears the file's diagnostics.
    let fixed = RULE.replace("user_inptu", "user_input");
    session.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&rule), "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    assert_eq!(session.diagnostics_of(&rule), Vec::<Value>::new());

    // Saving a text with a new mistake (the editor sends the text, as the
    // server asked) checks it and publishes its problem.
    let misspelt_list = fixed.replace("has_any injection_phrases", "has_any injection_phrase");
    session.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri(&rule)}, "text": misspelt_list}),
    );
    let diagnostics = session.diagnostics_of(&rule);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["range"]["start"]["line"], json!(7));
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("injection_phrase"),
        "{diagnostics:#?}"
    );
    session.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri(&rule)}, "text": fixed}),
    );
    assert_eq!(session.diagnostics_of(&rule), Vec::<Value>::new());

    // An unknown request is MethodNotFound; the server carries on.
    let unknown = session.request("textDocument/rename", json!({}));
    assert_eq!(unknown["error"]["code"], json!(-32601), "{unknown:#}");

    let shutdown = session.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null, "{shutdown:#}");
    session.notify("exit", Value::Null);
    let status = session.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A rule of a content repository on the built-in pack, naming one of its
/// lists and one of its playbooks.
const OWN_RULE: &str = "\
rule acme.extraction.single {
  title: \"An extraction phrase in one input\"
  description: \"One input holds a phrase of the shipped extraction list.\"
  severity: low
  category: llm_attack
  playbook: system_prompt_exfiltration
  guide: \"Read the input.\"
  match inference where user_input matches_any extraction_phrases
}
";

#[test]
fn definitions_reach_the_built_in_pack_through_files_on_disk() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsp-builtin");
    let _ = std::fs::remove_dir_all(&root);
    let repository = root.join("detections");
    let cache = root.join("cache");
    std::fs::create_dir_all(repository.join("rules")).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        repository.join("tripline.yaml"),
        "packs: [builtin]\nrules: [rules]\n",
    )
    .unwrap();
    let rule = repository.join("rules/acme.tdl");
    std::fs::write(&rule, OWN_RULE).unwrap();
    let repository = std::fs::canonicalize(&repository).unwrap();
    let rule = std::fs::canonicalize(&rule).unwrap();
    let cache = std::fs::canonicalize(&cache).unwrap();
    let mut session = Session::start_with(&repository, &[("XDG_CACHE_HOME", &cache)]);
    session.request(
        "initialize",
        json!({"processId": null, "rootUri": uri(&repository), "capabilities": {}}),
    );
    session.notify("initialized", json!({}));
    session.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&rule), "languageId": "tdl", "version": 1, "text": OWN_RULE}}),
    );

    // The shipped list (line 7) and playbook (line 5): each answer is a file
    // under the cache folder whose text at the range is the name.
    for (line, character, name, file) in [
        (7, 50, "extraction_phrases", "lists/extraction_phrases.tdl"),
        (
            5,
            16,
            "system_prompt_exfiltration",
            "playbooks/system_prompt_exfiltration.tdl",
        ),
    ] {
        let hover = session.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri(&rule)}, "position": {"line": line, "character": character}}),
        );
        assert!(
            hover["result"]["contents"]["value"]
                .as_str()
                .is_some_and(|text| text.contains(name)),
            "{hover:#}"
        );
        let definition = session.request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri(&rule)}, "position": {"line": line, "character": character}}),
        );
        let location = &definition["result"];
        let target = location["uri"]
            .as_str()
            .and_then(|uri| uri.strip_prefix("file://"))
            .unwrap_or_else(|| panic!("{name}: no file URI in {definition:#}"));
        let target = PathBuf::from(target);
        assert!(
            target.starts_with(cache.join("tripline")),
            "{name}: {target:?} is not in the cache folder"
        );
        assert!(target.ends_with(file), "{name}: {target:?}");
        let text = std::fs::read_to_string(&target).unwrap();
        let start = &location["range"]["start"];
        let declared = text
            .lines()
            .nth(start["line"].as_u64().unwrap() as usize)
            .unwrap();
        let column = start["character"].as_u64().unwrap() as usize;
        assert_eq!(
            &declared[column..column + name.len()],
            name,
            "{definition:#}"
        );
        assert!(
            std::fs::metadata(&target).unwrap().permissions().readonly(),
            "the copy is read-only"
        );
    }

    session.request("shutdown", Value::Null);
    session.notify("exit", Value::Null);
    assert_eq!(session.child.wait().unwrap().code(), Some(0));
}

#[test]
fn exit_without_shutdown_is_status_1() {
    let rules = pack("lsp-abrupt");
    let mut session = Session::start(&rules);
    session.request("initialize", json!({"capabilities": {}}));
    session.notify("exit", Value::Null);
    assert_eq!(session.child.wait().unwrap().code(), Some(1));
}
