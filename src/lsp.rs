//! `tollgate lsp`: a language server for policy files over standard input
//! and output (the `lsp` feature; docs/editors.md).
//!
//! Each open document is held as text, edited incrementally, and analysed
//! on every change: parsed, checked and indexed ([`analysis::Analysis`]).
//! Diagnostics are pushed after each change; every request is answered from
//! the latest analysis. Requests are handled one at a time, in the order
//! they arrive, so an answer always reflects every change sent before it.
//!
//! A position past the end of a document, or in a document the server was
//! never sent, gets an empty answer, never an error: the session goes on.

pub mod analysis;
pub mod command;
pub mod complete;
pub mod features;
pub mod index;
#[cfg(feature = "cli")]
pub mod lens;
pub mod reuse;
pub mod text;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use self::analysis::Analysis;
use self::complete::What;
use self::index::Kind;
use self::text::{Encoding, Pos, Text};
use crate::diagnostic::{Code, Severity};
use crate::span::Span;

/// Runs the server on standard input and output until the client exits.
pub fn run() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (service, socket) = LspService::new(|client| Backend {
            client,
            state: Mutex::new(State {
                encoding: Encoding::Utf16,
                docs: HashMap::new(),
                #[cfg(feature = "cli")]
                cases: lens::CaseCache::default(),
            }),
        });
        // One request at a time: a change is applied before the next
        // request is read, and no answer sees a half-applied edit.
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
            .concurrency_level(1)
            .serve(service)
            .await;
    });
    Ok(())
}

struct Backend {
    client: Client,
    state: Mutex<State>,
}

struct State {
    encoding: Encoding,
    docs: HashMap<String, Doc>,
    /// Case files read for code lenses.
    #[cfg(feature = "cli")]
    cases: lens::CaseCache,
}

/// An open document.
struct Doc {
    version: i32,
    analysis: Arc<Analysis>,
    /// The items of the last parse, for the next.
    reuse: reuse::Reuse,
    /// The code lenses of this version, once asked for.
    #[cfg(feature = "cli")]
    lenses: Option<Arc<Vec<lens::Lens>>>,
}

/// The name diagnostics give a document: its path when it is a file.
fn doc_name(uri: &Uri) -> String {
    let s = uri.as_str();
    s.strip_prefix("file://").unwrap_or(s).to_owned()
}

fn to_position(p: Pos) -> Position {
    Position::new(p.line, p.col)
}

fn from_position(p: Position) -> Pos {
    Pos {
        line: p.line,
        col: p.character,
    }
}

impl Backend {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The latest analysis of a document and the position encoding.
    fn get(&self, uri: &Uri) -> Option<(Arc<Analysis>, Encoding)> {
        let state = self.state();
        let doc = state.docs.get(uri.as_str())?;
        Some((Arc::clone(&doc.analysis), state.encoding))
    }

    /// The analysis and the byte offset of a position in it; `None` for a
    /// document not open or a position past its end.
    fn at(&self, uri: &Uri, pos: Position) -> Option<(Arc<Analysis>, Encoding, usize)> {
        let (a, enc) = self.get(uri)?;
        let off = a.offset_strict(from_position(pos), enc)?;
        Some((a, enc, off))
    }

    /// Analyses a new version and pushes its diagnostics.
    async fn update(&self, uri: Uri, version: i32, text: Arc<Text>) {
        let mut reuse = self
            .state()
            .docs
            .get_mut(uri.as_str())
            .map(|d| std::mem::take(&mut d.reuse))
            .unwrap_or_default();
        let analysis = Arc::new(Analysis::reusing(&doc_name(&uri), text, &mut reuse));
        let enc = {
            let mut state = self.state();
            let enc = state.encoding;
            match state.docs.get_mut(uri.as_str()) {
                Some(doc) if doc.version > version => return,
                Some(doc) => {
                    doc.version = version;
                    doc.analysis = Arc::clone(&analysis);
                    doc.reuse = reuse;
                    #[cfg(feature = "cli")]
                    {
                        doc.lenses = None;
                    }
                }
                None => {
                    state.docs.insert(
                        uri.as_str().to_owned(),
                        Doc {
                            version,
                            analysis: Arc::clone(&analysis),
                            reuse,
                            #[cfg(feature = "cli")]
                            lenses: None,
                        },
                    );
                }
            }
            enc
        };
        let diagnostics = diagnostics(&analysis, &uri, enc);
        self.client
            .publish_diagnostics(uri, diagnostics, Some(version))
            .await;
    }
}

fn range(a: &Analysis, span: Span, enc: Encoding) -> Range {
    let (s, e) = a.range(span, enc);
    Range::new(to_position(s), to_position(e))
}

/// The bytes a protocol range covers; a line past the end means the end.
/// `None` when the range ends before it starts.
fn span_of(a: &Analysis, r: Range, enc: Encoding) -> Option<Span> {
    let len = a.src().len();
    let start = a.offset(from_position(r.start), enc).unwrap_or(len);
    let end = a.offset(from_position(r.end), enc).unwrap_or(len);
    (start <= end).then(|| Span::new(start, end))
}

/// The tokens in the protocol's form.
fn semantic_tokens(a: &Analysis, found: &[tokens::Token], enc: Encoding) -> SemanticTokens {
    let data = tokens::encode(a, found, enc);
    SemanticTokens {
        result_id: None,
        data: data
            .chunks_exact(5)
            .map(|c| SemanticToken {
                delta_line: c.first().copied().unwrap_or(0),
                delta_start: c.get(1).copied().unwrap_or(0),
                length: c.get(2).copied().unwrap_or(0),
                token_type: c.get(3).copied().unwrap_or(0),
                token_modifiers_bitset: c.get(4).copied().unwrap_or(0),
            })
            .collect(),
    }
}

/// The protocol's form of a diagnostic: code by short name, the help
/// after the message, related places as related information.
fn diagnostic(a: &Analysis, d: &crate::Diagnostic, uri: &Uri, enc: Encoding) -> Diagnostic {
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), range(a, l.span, enc)),
            message: l.text.clone(),
        })
        .collect();
    let unnecessary = matches!(
        d.code,
        Code::Unused | Code::UnusedCreditKind | Code::Unreachable
    );
    Diagnostic {
        range: range(a, d.span, enc),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.name().to_owned())),
        code_description: None,
        source: Some("tollgate".to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: unnecessary.then(|| vec![DiagnosticTag::UNNECESSARY]),
        data: d
            .suggestion
            .as_ref()
            .map(|s| serde_json::json!({ "suggestion": s, "qualified": d.code.qualified() })),
    }
}

fn diagnostics(a: &Analysis, uri: &Uri, enc: Encoding) -> Vec<Diagnostic> {
    a.diagnostics
        .items
        .iter()
        .map(|d| diagnostic(a, d, uri, enc))
        .collect()
}

fn edit_map(uri: &Uri, a: &Analysis, enc: Encoding, edits: Vec<(Span, String)>) -> WorkspaceEdit {
    let edits = edits
        .into_iter()
        .map(|(span, new_text)| TextEdit {
            range: range(a, span, enc),
            new_text,
        })
        .collect();
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        document_changes: None,
        change_annotations: None,
    }
}

fn symbol_kind(kind: Option<Kind>, keyword: &str) -> SymbolKind {
    match kind {
        Some(Kind::Policy) => SymbolKind::MODULE,
        Some(Kind::Role) => SymbolKind::CLASS,
        Some(Kind::Access) => SymbolKind::KEY,
        Some(Kind::Category) => SymbolKind::NAMESPACE,
        Some(Kind::Action) => SymbolKind::EVENT,
        Some(Kind::CreditKind | Kind::DebtKind) => SymbolKind::CONSTANT,
        Some(Kind::Enum) => SymbolKind::ENUM,
        Some(Kind::EnumValue) => SymbolKind::ENUM_MEMBER,
        Some(Kind::Field | Kind::GrantAttr) => SymbolKind::FIELD,
        Some(Kind::Let) => SymbolKind::VARIABLE,
        Some(Kind::Step) => SymbolKind::FUNCTION,
        Some(Kind::State) => SymbolKind::STRUCT,
        Some(Kind::Rule) => SymbolKind::METHOD,
        Some(Kind::Assertion) => SymbolKind::PROPERTY,
        None if keyword == "on" => SymbolKind::NAMESPACE,
        None => SymbolKind::PROPERTY,
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written.
fn document_symbol(a: &Analysis, o: features::Outline, enc: Encoding) -> DocumentSymbol {
    let full = range(a, o.span, enc);
    let mut selection = range(a, o.name_span, enc);
    if selection.start < full.start || selection.end > full.end {
        selection = full;
    }
    DocumentSymbol {
        name: if o.name.is_empty() {
            o.detail.clone()
        } else {
            o.name
        },
        detail: Some(o.detail.clone()),
        kind: symbol_kind(o.kind, &o.detail),
        tags: None,
        deprecated: None,
        range: full,
        selection_range: selection,
        children: Some(
            o.children
                .into_iter()
                .map(|c| document_symbol(a, c, enc))
                .collect(),
        ),
    }
}

fn completion_kind(what: What) -> CompletionItemKind {
    match what {
        What::Keyword => CompletionItemKind::KEYWORD,
        What::Type => CompletionItemKind::TYPE_PARAMETER,
        What::Builtin => CompletionItemKind::VARIABLE,
        What::Name(k) => match k {
            Kind::Role => CompletionItemKind::CLASS,
            Kind::Category => CompletionItemKind::MODULE,
            Kind::Action => CompletionItemKind::EVENT,
            Kind::CreditKind | Kind::DebtKind => CompletionItemKind::CONSTANT,
            Kind::Enum => CompletionItemKind::ENUM,
            Kind::EnumValue => CompletionItemKind::ENUM_MEMBER,
            Kind::Field | Kind::GrantAttr => CompletionItemKind::FIELD,
            Kind::Let => CompletionItemKind::VARIABLE,
            Kind::Step => CompletionItemKind::FUNCTION,
            _ => CompletionItemKind::TEXT,
        },
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.clone())
            .unwrap_or_default();
        let encoding = if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        };
        self.state().encoding = encoding;
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "tollgate".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
            capabilities: ServerCapabilities {
                position_encoding: Some(match encoding {
                    Encoding::Utf8 => PositionEncodingKind::UTF8,
                    Encoding::Utf16 => PositionEncodingKind::UTF16,
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::INCREMENTAL,
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                })),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![
                        ".".to_owned(),
                        " ".to_owned(),
                        "[".to_owned(),
                        ",".to_owned(),
                    ]),
                    ..CompletionOptions::default()
                }),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        ..CodeActionOptions::default()
                    },
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![command::DECIDE.to_owned()],
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
                code_lens_provider: cfg!(feature = "cli").then_some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: SemanticTokensLegend {
                                token_types: tokens::TYPES
                                    .iter()
                                    .map(|t| SemanticTokenType::new(t))
                                    .collect(),
                                token_modifiers: tokens::MODIFIERS
                                    .iter()
                                    .map(|m| SemanticTokenModifier::new(m))
                                    .collect(),
                            },
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            range: Some(true),
                            work_done_progress_options: WorkDoneProgressOptions::default(),
                        },
                    ),
                ),
                ..ServerCapabilities::default()
            },
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let text = Arc::new(Text::new(doc.text));
        self.update(doc.uri, doc.version, text).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let version = params.text_document.version;
        let text = {
            let state = self.state();
            let enc = state.encoding;
            let Some(doc) = state.docs.get(uri.as_str()) else {
                return;
            };
            let mut text = Text::clone(&doc.analysis.text);
            for change in params.content_changes {
                let range = change
                    .range
                    .map(|r| (from_position(r.start), from_position(r.end)));
                text.edit(range, &change.text, enc);
            }
            Arc::new(text)
        };
        self.update(uri, version, text).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        self.state().docs.remove(uri.as_str());
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        let Some((a, enc, off)) = self.at(&p.text_document.uri, p.position) else {
            return Ok(None);
        };
        Ok(features::hover(&a, off).map(|(span, value)| Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: Some(range(&a, span, enc)),
        }))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let uri = p.text_document.uri;
        let Some((a, enc, off)) = self.at(&uri, p.position) else {
            return Ok(None);
        };
        Ok(features::definition(&a, off).map(|span| {
            GotoDefinitionResponse::Scalar(Location::new(uri.clone(), range(&a, span, enc)))
        }))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        let uri = p.text_document.uri;
        let Some((a, enc, off)) = self.at(&uri, p.position) else {
            return Ok(None);
        };
        let spans = features::references(&a, off, params.context.include_declaration);
        Ok(Some(
            spans
                .into_iter()
                .map(|s| Location::new(uri.clone(), range(&a, s, enc)))
                .collect(),
        ))
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let Some((a, enc, off)) = self.at(&params.text_document.uri, params.position) else {
            return Ok(None);
        };
        Ok(
            features::prepare_rename(&a, off).map(|(span, placeholder)| {
                PrepareRenameResponse::RangeWithPlaceholder {
                    range: range(&a, span, enc),
                    placeholder,
                }
            }),
        )
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let p = params.text_document_position;
        let uri = p.text_document.uri;
        let Some((a, enc, off)) = self.at(&uri, p.position) else {
            return Ok(None);
        };
        match features::rename(&a, off, &params.new_name) {
            Ok(edits) => Ok(Some(edit_map(&uri, &a, enc, edits))),
            Err(why) => Err(Error::invalid_params(why)),
        }
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        let Some((a, enc, off)) = self.at(&p.text_document.uri, p.position) else {
            return Ok(None);
        };
        let (replace, items) = complete::complete(&a, off);
        let replace = range(&a, replace, enc);
        let items = items
            .into_iter()
            .map(|c| CompletionItem {
                label: c.label.clone(),
                kind: Some(completion_kind(c.what)),
                detail: Some(c.detail),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                    range: replace,
                    new_text: c.label,
                })),
                ..CompletionItem::default()
            })
            .collect();
        Ok(Some(CompletionResponse::Array(items)))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let Some((a, enc)) = self.get(&uri) else {
            return Ok(None);
        };
        let r = params.range;
        let (Some(start), Some(end)) = (
            a.offset(from_position(r.start), enc),
            a.offset(from_position(r.end), enc),
        ) else {
            return Ok(Some(Vec::new()));
        };
        let mut out = Vec::new();
        for d in &a.diagnostics.items {
            let (s, e) = (d.span.start as usize, d.span.end as usize);
            if e < start || s > end {
                continue;
            }
            for fix in features::fixes(&a, d) {
                out.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: fix.title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![diagnostic(&a, d, &uri, enc)]),
                    edit: Some(edit_map(&uri, &a, enc, fix.edits)),
                    command: None,
                    is_preferred: Some(fix.preferred),
                    disabled: None,
                    data: None,
                }));
            }
        }
        Ok(Some(out))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let Some((a, enc)) = self.get(&params.text_document.uri) else {
            return Ok(None);
        };
        let symbols = features::outline(&a)
            .into_iter()
            .map(|o| document_symbol(&a, o, enc))
            .collect();
        Ok(Some(DocumentSymbolResponse::Nested(symbols)))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        let Some((a, _)) = self.get(&params.text_document.uri) else {
            return Ok(None);
        };
        Ok(Some(
            features::folds(&a)
                .into_iter()
                .map(|f| FoldingRange {
                    start_line: f.start,
                    start_character: None,
                    end_line: f.end,
                    end_character: None,
                    kind: Some(if f.comment {
                        FoldingRangeKind::Comment
                    } else {
                        FoldingRangeKind::Region
                    }),
                    collapsed_text: None,
                })
                .collect(),
        ))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let Some((a, enc)) = self.get(&params.text_document.uri) else {
            return Ok(None);
        };
        let data = semantic_tokens(&a, &tokens::tokens(&a), enc);
        Ok(Some(SemanticTokensResult::Tokens(data)))
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        let Some((a, enc)) = self.get(&params.text_document.uri) else {
            return Ok(None);
        };
        let Some(within) = span_of(&a, params.range, enc) else {
            return Ok(None);
        };
        let data = semantic_tokens(&a, &tokens::tokens_in(&a, within), enc);
        Ok(Some(SemanticTokensRangeResult::Tokens(data)))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some((a, enc)) = self.get(&params.text_document.uri) else {
            return Ok(None);
        };
        // A policy with syntax errors is not formatted: its diagnostics
        // say why.
        let Ok(formatted) = crate::format_text(&a.diagnostics.source.shared_name(), a.src()) else {
            return Ok(None);
        };
        if formatted == a.src() {
            return Ok(Some(Vec::new()));
        }
        let whole = Span::new(0, a.src().len());
        Ok(Some(vec![TextEdit {
            range: range(&a, whole, enc),
            new_text: formatted,
        }]))
    }

    #[cfg(feature = "cli")]
    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        let (a, enc, version, cached) = {
            let state = self.state();
            let Some(doc) = state.docs.get(uri.as_str()) else {
                return Ok(None);
            };
            (
                Arc::clone(&doc.analysis),
                state.encoding,
                doc.version,
                doc.lenses.clone(),
            )
        };
        let lenses = match cached {
            Some(l) => l,
            None => {
                let path = uri.to_file_path().map(|p| p.into_owned());
                let mut cache = std::mem::take(&mut self.state().cases);
                let l = Arc::new(lens::lenses(
                    &doc_name(&uri),
                    a.src(),
                    path.as_deref(),
                    &mut cache,
                ));
                self.state().cases = cache;
                if let Some(doc) = self.state().docs.get_mut(uri.as_str())
                    && doc.version == version
                {
                    doc.lenses = Some(Arc::clone(&l));
                }
                l
            }
        };
        Ok(Some(
            lenses
                .iter()
                .map(|l| CodeLens {
                    range: range(&a, l.span, enc),
                    // Shown, not clicked: an empty command runs nothing.
                    command: Some(Command {
                        title: l.title.clone(),
                        command: String::new(),
                        arguments: None,
                    }),
                    data: None,
                })
                .collect(),
        ))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        if params.command != command::DECIDE {
            return Err(Error::invalid_params(format!(
                "unknown command `{}`; this server runs `{}`",
                params.command,
                command::DECIDE
            )));
        }
        let args = command::DecideArgs::from_arguments(&params.arguments)
            .map_err(Error::invalid_params)?;
        let Ok(uri) = args.uri.parse::<Uri>() else {
            return Err(Error::invalid_params(format!(
                "`{}` is not a document URI",
                args.uri
            )));
        };
        let Some((a, _)) = self.get(&uri) else {
            return Err(Error::invalid_params(format!("`{}` is not open", args.uri)));
        };
        let path = uri.to_file_path().map(|p| p.into_owned());
        command::decide(&doc_name(&uri), a.src(), path.as_deref(), &args)
            .map(Some)
            .map_err(Error::invalid_params)
    }
}
