//! `tripline lsp`: a language server over stdio for `.tdl` files.
//!
//! Diagnostics come from the same load and check as `tripline check`, run on
//! the pack the file belongs to (see [`analysis::root_of`]) when a file is
//! opened, changed or saved, and published for every file of that pack (files
//! that no longer have any are cleared). Hover shows the declaration of a
//! field, list, lookup, parameter or playbook; go-to-definition jumps to it.
//!
//! Messages are handled on the calling thread, one at a time; a second
//! thread only reads frames, so that the edits already sent are checked once
//! as a batch. The messages are `lsp-server`'s; the framing is read here so
//! that no input (a bad header, a huge length, JSON that is no message) can
//! stop or crash the server: such a frame is reported on stderr and skipped.

mod analysis;
mod index;
mod pack_files;
mod text;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    GotoDefinitionParams, GotoDefinitionResponse, Hover, HoverContents, HoverParams,
    HoverProviderCapability, InitializeResult, Location, MarkupContent, MarkupKind, OneOf,
    PublishDiagnosticsParams, SaveOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri,
};

use analysis::{Analysis, analyse, root_of};
use pack_files::PackFiles;
use text::{Lines, path_to_uri, uri_to_path};

/// The largest message accepted (a whole rule file fits many times over).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// How the session ended, for the exit code: the protocol asks for 0 after
/// `shutdown` then `exit`, and 1 for an `exit` (or the end of input) without
/// `shutdown` first.
pub enum Ending {
    /// `shutdown`, then `exit`.
    Clean,
    /// `exit` or end of input without `shutdown`.
    Abrupt,
}

/// Serves one client on stdin and stdout until `exit` or the end of input.
pub fn run() -> Ending {
    let stdout = std::io::stdout();
    let mut server = Server::new(Box::new(stdout.lock()));
    server.serve(&spawn_reader(Box::new(std::io::BufReader::new(
        std::io::stdin(),
    ))))
}

/// Reads frames on a thread of their own, so the server can take every
/// message already sent before it checks (a burst of edits is checked once).
fn spawn_reader(mut input: Box<dyn BufRead + Send>) -> Receiver<Result<Message, String>> {
    let (sender, receiver) = channel();
    let spawned = std::thread::Builder::new()
        .name("tripline-lsp-reader".to_string())
        .spawn(move || {
            while let Some(frame) = read_frame(&mut *input) {
                if sender.send(frame).is_err() {
                    return;
                }
            }
        });
    if let Err(error) = spawned {
        // The receiver then sees the end of input and the session ends.
        eprintln!("tripline lsp: cannot start the reader thread: {error}");
    }
    receiver
}

struct Server<'a> {
    output: Box<dyn Write + 'a>,
    /// Open documents by path, with their current text.
    open: HashMap<PathBuf, String>,
    /// The last check of each pack, by root.
    analyses: HashMap<PathBuf, Analysis>,
    /// The files of each pack that diagnostics were last published for.
    published: HashMap<PathBuf, BTreeSet<PathBuf>>,
    /// Files opened, changed, saved or closed since the last check.
    pending: Vec<PathBuf>,
    /// The built-in pack's files, written to disk when a definition is in it.
    pack_files: PackFiles,
    shutdown: bool,
    initialized: bool,
}

/// One frame of the base protocol: `None` at the end of input, `Some(Err)`
/// for a frame that was read but is no message.
fn read_frame(input: &mut dyn BufRead) -> Option<Result<Message, String>> {
    let mut length: Option<usize> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        match Read::take(&mut *input, MAX_MESSAGE as u64).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if length.is_some() {
                break;
            }
            // Stray blank lines before a header are skipped.
            continue;
        }
        if let Some((name, value)) = text.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
            if length.is_none() {
                return Some(Err(format!("bad Content-Length header `{text}`")));
            }
        }
    }
    let length = length.unwrap_or(0);
    if length > MAX_MESSAGE {
        // Skip the body rather than hold it.
        let skipped = std::io::copy(
            &mut Read::take(&mut *input, length as u64),
            &mut std::io::sink(),
        );
        return match skipped {
            Ok(count) if count == length as u64 => Some(Err(format!(
                "a message of {length} bytes is over the limit of {MAX_MESSAGE}"
            ))),
            _ => None,
        };
    }
    let mut body = vec![0; length];
    if input.read_exact(&mut body).is_err() {
        return None;
    }
    // `Message::read` parses the frame again from a buffer it cannot overrun.
    let mut frame = format!("Content-Length: {length}\r\n\r\n").into_bytes();
    frame.extend_from_slice(&body);
    match Message::read(&mut frame.as_slice()) {
        Ok(Some(message)) => Some(Ok(message)),
        Ok(None) => None,
        Err(error) => Some(Err(error.to_string())),
    }
}

impl<'a> Server<'a> {
    fn new(output: Box<dyn Write + 'a>) -> Self {
        Server {
            output,
            open: HashMap::new(),
            analyses: HashMap::new(),
            published: HashMap::new(),
            pending: Vec::new(),
            pack_files: PackFiles::default(),
            shutdown: false,
            initialized: false,
        }
    }

    fn serve(&mut self, frames: &Receiver<Result<Message, String>>) -> Ending {
        while let Ok(first) = frames.recv() {
            // Everything already sent is one batch: its edits are checked
            // once, at its end or before a request that reads the result.
            let batch: Vec<_> = std::iter::once(first).chain(frames.try_iter()).collect();
            for frame in batch {
                let message = match frame {
                    Ok(message) => message,
                    Err(problem) => {
                        eprintln!("tripline lsp: skipped a message: {problem}");
                        continue;
                    }
                };
                match message {
                    Message::Request(request) => {
                        self.check_pending();
                        self.request(request);
                    }
                    Message::Notification(notification) => {
                        if notification.method == "exit" {
                            return if self.shutdown {
                                Ending::Clean
                            } else {
                                Ending::Abrupt
                            };
                        }
                        self.notification(notification);
                    }
                    Message::Response(_) => {}
                }
            }
            self.check_pending();
        }
        Ending::Abrupt
    }

    /// Checks the packs of the files edited since the last check, each pack once.
    fn check_pending(&mut self) {
        let mut seen = BTreeSet::new();
        for path in std::mem::take(&mut self.pending).into_iter().rev() {
            if seen.insert(root_of(&path)) {
                self.check(&path);
            }
        }
    }

    fn send(&mut self, message: Message) {
        // A client that went away ends the session at the next read.
        let _ = message.write(&mut self.output);
        let _ = self.output.flush();
    }

    fn respond_error(&mut self, id: RequestId, code: ErrorCode, message: &str) {
        self.send(Response::new_err(id, code as i32, message.to_string()).into());
    }

    fn request(&mut self, request: Request) {
        let Request { id, method, params } = request;
        if method == "initialize" {
            self.initialized = true;
            let result = InitializeResult {
                capabilities: capabilities(),
                server_info: Some(ServerInfo {
                    name: "tripline".to_string(),
                    version: Some(env!("CARGO_PKG_VERSION").to_string()),
                }),
            };
            self.send(Response::new_ok(id, result).into());
            return;
        }
        if !self.initialized {
            self.respond_error(id, ErrorCode::ServerNotInitialized, "initialize first");
            return;
        }
        if self.shutdown {
            self.respond_error(id, ErrorCode::InvalidRequest, "the server is shut down");
            return;
        }
        match method.as_str() {
            "shutdown" => {
                self.shutdown = true;
                self.send(Response::new_ok(id, ()).into());
            }
            HoverRequest::METHOD => match serde_json::from_value::<HoverParams>(params) {
                Ok(params) => {
                    let hover = self.hover(&params);
                    self.send(Response::new_ok(id, hover).into());
                }
                Err(error) => self.respond_error(id, ErrorCode::InvalidParams, &error.to_string()),
            },
            GotoDefinition::METHOD => {
                match serde_json::from_value::<GotoDefinitionParams>(params) {
                    Ok(params) => {
                        let found = self.definition(&params);
                        self.send(Response::new_ok(id, found).into());
                    }
                    Err(error) => {
                        self.respond_error(id, ErrorCode::InvalidParams, &error.to_string());
                    }
                }
            }
            _ => self.respond_error(
                id,
                ErrorCode::MethodNotFound,
                &format!("tripline lsp does not handle `{method}`"),
            ),
        }
    }

    fn notification(&mut self, notification: Notification) {
        if !self.initialized || self.shutdown {
            return;
        }
        let Notification { method, params } = notification;
        match method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(params) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(params)
                    && let Some(path) = document_path(&params.text_document.uri)
                {
                    self.open.insert(path.clone(), params.text_document.text);
                    self.pending.push(path);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(params) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(params)
                    && let Some(path) = document_path(&params.text_document.uri)
                    // Full sync: the last change is the whole text.
                    && let Some(change) = params.content_changes.into_iter().last()
                {
                    self.open.insert(path.clone(), change.text);
                    self.pending.push(path);
                }
            }
            DidSaveTextDocument::METHOD => {
                if let Ok(params) =
                    serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(params)
                    && let Some(path) = document_path(&params.text_document.uri)
                {
                    if let Some(text) = params.text {
                        self.open.insert(path.clone(), text);
                    }
                    self.pending.push(path);
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(params) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(params)
                    && let Some(path) = document_path(&params.text_document.uri)
                {
                    // What is on disk counts again; its problems stay listed.
                    self.open.remove(&path);
                    self.pending.push(path);
                }
            }
            // `initialized`, `$/cancelRequest`, settings and the rest need nothing.
            _ => {}
        }
    }

    /// Checks the pack of `path` and publishes its diagnostics.
    fn check(&mut self, path: &Path) {
        let root = root_of(path);
        let analysis = analyse(&root, path, &self.open);
        let now: BTreeSet<PathBuf> = analysis.diagnostics.keys().cloned().collect();
        let before = self.published.remove(&root).unwrap_or_default();
        for (file, diagnostics) in &analysis.diagnostics {
            self.publish(file, diagnostics.clone());
        }
        for file in before.difference(&now) {
            self.publish(file, Vec::new());
        }
        self.published.insert(root.clone(), now);
        self.analyses.insert(root, analysis);
    }

    fn publish(&mut self, file: &Path, diagnostics: Vec<lsp_types::Diagnostic>) {
        let Some(uri) = path_to_uri(file) else {
            return;
        };
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        };
        self.send(Notification::new(PublishDiagnostics::METHOD.to_string(), params).into());
    }

    /// The analysis of the pack of `path` (checked now if it was not yet)
    /// and the text of `path` with the byte offset of `position` in it.
    fn locate(
        &mut self,
        uri: &Uri,
        position: lsp_types::Position,
    ) -> Option<(&Analysis, String, usize)> {
        let path = document_path(uri)?;
        let text = match self.open.get(&path) {
            Some(text) => text.clone(),
            None => crate::project::read_text(&path).ok()?,
        };
        let offset = Lines::new(&text).offset(position);
        let root = root_of(&path);
        if !self.analyses.contains_key(&root) {
            self.check(&path);
        }
        let analysis = self.analyses.get(&root)?;
        Some((analysis, text, offset))
    }

    fn hover(&mut self, params: &HoverParams) -> Option<Hover> {
        let document = &params.text_document_position_params;
        let (analysis, text, offset) =
            self.locate(&document.text_document.uri, document.position)?;
        let symbols = analysis.index.resolve(&text, offset);
        let value = index::hover_markdown(&symbols)?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: None,
        })
    }

    fn definition(&mut self, params: &GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
        let document = &params.text_document_position_params;
        let uri = &document.text_document.uri;
        // Where each declaration is: the pack's file and the range in it.
        let found: Vec<(PathBuf, lsp_types::Range)> = {
            let (analysis, text, offset) = self.locate(uri, document.position)?;
            analysis
                .index
                .resolve(&text, offset)
                .into_iter()
                .filter_map(|symbol| {
                    let file = analysis.sources.get(symbol.span.source)?;
                    let range = Lines::new(&file.text)
                        .range(symbol.span.start as usize, symbol.span.end as usize);
                    Some((PathBuf::from(&file.path), range))
                })
                .collect()
        };
        let locations: Vec<Location> = found
            .into_iter()
            .filter_map(|(path, range)| {
                // The built-in pack's files live in the binary: the editor
                // gets its copy on disk (see `pack_files`).
                let path = if crate::builtin::is_builtin(&path) {
                    self.pack_files.on_disk(&path)?
                } else if path.is_absolute() {
                    path
                } else {
                    return None;
                };
                Some(Location::new(path_to_uri(&path)?, range))
            })
            .collect();
        match locations.len() {
            0 => None,
            1 => locations
                .into_iter()
                .next()
                .map(GotoDefinitionResponse::Scalar),
            _ => Some(GotoDefinitionResponse::Array(locations)),
        }
    }
}

/// The absolute, resolved path of a document (as the pack's files are found).
fn document_path(uri: &Uri) -> Option<PathBuf> {
    let path = uri_to_path(uri)?;
    Some(std::fs::canonicalize(&path).unwrap_or(path))
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(true),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    fn session(input: &str) -> (String, bool) {
        let mut output = Vec::new();
        let ending = {
            let mut server = Server::new(Box::new(&mut output));
            server.serve(&spawn_reader(Box::new(std::io::Cursor::new(
                input.as_bytes().to_vec(),
            ))))
        };
        (
            String::from_utf8_lossy(&output).into_owned(),
            matches!(ending, Ending::Clean),
        )
    }

    #[test]
    fn bad_frames_are_skipped_and_the_session_goes_on() {
        let mut input = String::new();
        input.push_str("garbage without a header\r\n\r\n");
        input.push_str(&frame("{not json"));
        input.push_str(&frame(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
        ));
        input.push_str("Content-Length: 99999999999999999999\r\n\r\n");
        input.push_str(&frame(
            r#"{"jsonrpc":"2.0","id":2,"method":"textDocument/hover","params":{"nope":1}}"#,
        ));
        input.push_str(&frame(
            r#"{"jsonrpc":"2.0","id":3,"method":"workspace/symbol","params":{"query":""}}"#,
        ));
        input.push_str(&frame(r#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"untitled:x","languageId":"tdl","version":1,"text":"rule"}}}"#));
        input.push_str(&frame(r#"{"jsonrpc":"2.0","id":4,"method":"shutdown"}"#));
        input.push_str(&frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let (output, clean) = session(&input);
        assert!(clean, "{output}");
        assert!(
            output.contains(r#""id":1,"result":{"capabilities""#),
            "{output}"
        );
        assert!(output.contains(r#""code":-32602"#), "{output}");
        assert!(output.contains(r#""code":-32601"#), "{output}");
        assert!(output.contains(r#""id":4,"result":null"#), "{output}");
    }

    #[test]
    fn exit_without_shutdown_or_end_of_input_is_abrupt() {
        let (_, clean) = session(&frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        assert!(!clean);
        let (_, clean) = session("");
        assert!(!clean);
        let (_, clean) = session("Content-Length: 10\r\n\r\n{\"a");
        assert!(!clean);
    }

    proptest::proptest! {
        // Any bytes, framed or not, end the session without a panic.
        #[test]
        fn no_input_panics(bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..400)) {
            let mut input = frame(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#).into_bytes();
            input.extend_from_slice(&bytes);
            let mut output = Vec::new();
            let mut server = Server::new(Box::new(&mut output));
            server.serve(&spawn_reader(Box::new(std::io::Cursor::new(input))));
        }

        // Any request with any position in any text answers without a panic.
        #[test]
        fn hover_anywhere(text in "[a-z_. \n\"/é𝄞]{0,40}", line in 0u32..4, character in 0u32..50) {
            let lines = Lines::new(&text);
            let offset = lines.offset(lsp_types::Position::new(line, character));
            proptest::prop_assert!(offset <= text.len());
            let _ = lines.position(offset);
            let mut sources = crate::source::Sources::new();
            sources.add("a.tdl", "list a_b: string = [\"x\"]\nparam c: int = 1\n");
            let index = index::Index::build(&sources, None);
            for offset in 0..=text.len() + 1 {
                let _ = index.resolve(&text, offset);
            }
        }
    }

    #[test]
    fn a_burst_of_edits_is_checked_once_per_pack() {
        // The pack is a folder inside a folder of its own: the search for a
        // file's pack climbs while the parent holds `.tdl` files, and the
        // system's temporary folder may hold some.
        let root = std::env::temp_dir().join(format!("tripline-lsp-burst-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let base = root.join("rules");
        std::fs::create_dir_all(&base).unwrap();
        let base = std::fs::canonicalize(&base).unwrap();
        std::fs::write(base.join("a.tdl"), "rule r {\n  match nothing\n}\n").unwrap();
        std::fs::write(base.join("b.tdl"), "param p: int = 1\n").unwrap();
        let mut output = Vec::new();
        {
            let mut server = Server::new(Box::new(&mut output));
            server.pending = vec![base.join("a.tdl"), base.join("b.tdl"), base.join("a.tdl")];
            server.check_pending();
            assert!(server.pending.is_empty());
        }
        let output = String::from_utf8(output).unwrap();
        assert_eq!(
            output.matches("textDocument/publishDiagnostics").count(),
            1,
            "{output}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn requests_before_initialize_are_refused() {
        let (output, _) = session(&frame(
            r#"{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{}}"#,
        ));
        assert!(output.contains(r#""code":-32002"#), "{output}");
    }
}
