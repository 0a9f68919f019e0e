//! The command line: subcommands and their options (`lexopt`). Error messages name options but
//! never echo a value, so nothing typed on the command line is repeated to a terminal or log.

use std::ffi::OsString;
use std::str::FromStr;

use hmac_guard::webhook::Preset;
use hmac_guard::{Algorithm, DigestAlgorithm};
use lexopt::{Arg, Parser};

use crate::Failure;
use crate::help::Topic;
use crate::key::{DEFAULT_SECRET_ENV, KeyArgs, SecretEncoding, is_env_name};

/// Option names that would carry a secret on the command line. They are refused, with the reason.
const SECRET_FLAGS: [&str; 7] = ["secret", "secret-key", "key", "hmac-secret", "hmac-key", "password", "passphrase"];

/// Which signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemeKind {
    Rfc9421,
    Simple,
}

/// `hmac-guard sign`.
#[derive(Debug, Clone)]
pub(crate) struct SignArgs {
    pub key: KeyArgs,
    pub scheme: SchemeKind,
    pub method: Option<String>,
    pub url: String,
    pub body_file: Option<String>,
    pub headers: Vec<(String, String)>,
    pub label: Option<String>,
    pub components: Option<Vec<String>>,
    pub created: Option<i64>,
    pub nonce: Option<String>,
    pub expires_in: Option<u32>,
    pub tag: Option<String>,
    pub include_alg: bool,
    pub digest: Option<DigestAlgorithm>,
    pub curl: bool,
    /// Also print the signature base (stderr), to diff with a server's `explain`.
    pub print_base: bool,
    /// `--preset`: a webhook provider's headers instead of a signed request (the URL is then
    /// needed only for `--curl`).
    pub preset: Option<Preset>,
    /// `--id`: the delivery id a Standard Webhooks / Svix preset signs.
    pub webhook_id: Option<String>,
}

/// `hmac-guard verify` and `hmac-guard explain`.
#[derive(Debug, Clone)]
pub(crate) struct CheckArgs {
    pub key: KeyArgs,
    pub subject: Option<String>,
    pub scheme: SchemeKind,
    /// A file, or `-`/`None` for stdin.
    pub input: Option<String>,
    pub at: Option<i64>,
    pub max_age: Option<u32>,
    pub max_skew: Option<u32>,
    pub body_limit: Option<u64>,
    /// `None`: the core's default URL scheme.
    pub url_scheme: Option<String>,
    pub host: Option<String>,
    pub labels: Vec<String>,
    pub tag: Option<String>,
    /// `--preset`: verify as that webhook provider's receiver (the secret as its dashboard shows it).
    pub preset: Option<Preset>,
    /// `--tolerance`: the preset's clock tolerance (seconds).
    pub tolerance: Option<u32>,
}

/// What to do.
#[derive(Debug)]
pub(crate) enum Command {
    Help(Topic),
    Version,
    Sign(SignArgs),
    Verify(CheckArgs),
    Explain(CheckArgs),
}

type R<T> = Result<T, Failure>;

/// Parses the arguments (without the program name).
pub(crate) fn parse(args: &[String]) -> R<Command> {
    let mut parser = Parser::from_args(args.iter());
    let first = parser.next().map_err(|e| lex_error(None, e))?;
    match first {
        None => Err(Failure::usage(None, "a command is required: sign, verify or explain")),
        Some(Arg::Short('h') | Arg::Long("help")) => Ok(Command::Help(Topic::Main)),
        Some(Arg::Short('V') | Arg::Long("version")) => Ok(Command::Version),
        Some(Arg::Value(v)) => match v.to_str() {
            Some("sign") => sign(&mut parser),
            Some("verify") => check(&mut parser, "verify"),
            Some("explain") => check(&mut parser, "explain"),
            Some("help") => help(&mut parser),
            _ => Err(Failure::usage(None, "unknown command (the commands are sign, verify and explain)")),
        },
        Some(other) => Err(unexpected(None, &other)),
    }
}

fn help(parser: &mut Parser) -> R<Command> {
    let topic = match parser.next().map_err(|e| lex_error(None, e))? {
        None => Topic::Main,
        Some(Arg::Value(v)) => match v.to_str() {
            Some("sign") => Topic::Sign,
            Some("verify") => Topic::Verify,
            Some("explain") => Topic::Explain,
            _ => return Err(Failure::usage(None, "no help for that topic (try sign, verify or explain)")),
        },
        Some(other) => return Err(unexpected(None, &other)),
    };
    Ok(Command::Help(topic))
}

fn sign(parser: &mut Parser) -> R<Command> {
    const CMD: Option<&str> = Some("sign");
    let mut key = KeyArgs::default();
    let mut scheme = SchemeKind::Rfc9421;
    let mut a = SignArgs {
        key: KeyArgs::default(),
        scheme,
        method: None,
        url: String::new(),
        body_file: None,
        headers: Vec::new(),
        label: None,
        components: None,
        created: None,
        nonce: None,
        expires_in: None,
        tag: None,
        include_alg: false,
        digest: None,
        curl: false,
        print_base: false,
        preset: None,
        webhook_id: None,
    };
    let mut scheme_given = false;
    let mut positional = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| lex_error(CMD, e))? {
        match arg {
            Arg::Short('h') | Arg::Long("help") => return Ok(Command::Help(Topic::Sign)),
            Arg::Long("scheme") => {
                scheme = parse_scheme(&value(parser, CMD, "--scheme")?, CMD)?;
                scheme_given = true;
            }
            Arg::Long("preset") => a.preset = Some(parse_preset(&value(parser, CMD, "--preset")?, CMD)?),
            Arg::Long("id") => a.webhook_id = Some(value(parser, CMD, "--id")?),
            Arg::Long("body") => a.body_file = Some(value(parser, CMD, "--body")?),
            Arg::Long("timestamp") => {
                a.created = Some(number(&value(parser, CMD, "--timestamp")?, CMD, "--timestamp", "Unix seconds")?);
            }
            Arg::Short('X') | Arg::Long("method") => a.method = Some(value(parser, CMD, "--method")?),
            Arg::Long("body-file") | Arg::Long("data-file") => a.body_file = Some(value(parser, CMD, "--body-file")?),
            Arg::Short('H') | Arg::Long("header") => a.headers.push(header(&value(parser, CMD, "--header")?)?),
            Arg::Long("label") => a.label = Some(value(parser, CMD, "--label")?),
            Arg::Long("components") | Arg::Long("component") => {
                let list = value(parser, CMD, "--components")?;
                let c = a.components.get_or_insert_with(Vec::new);
                c.extend(list.split([',', ' ', '\t', '\n']).filter(|s| !s.is_empty()).map(String::from));
            }
            Arg::Long("created") => {
                a.created = Some(number(&value(parser, CMD, "--created")?, CMD, "--created", "Unix seconds")?)
            }
            Arg::Long("nonce") => a.nonce = Some(value(parser, CMD, "--nonce")?),
            Arg::Long("expires-in") => {
                a.expires_in = Some(number(&value(parser, CMD, "--expires-in")?, CMD, "--expires-in", "seconds")?);
            }
            Arg::Long("tag") => a.tag = Some(value(parser, CMD, "--tag")?),
            Arg::Long("include-alg") => a.include_alg = true,
            Arg::Long("digest") => {
                a.digest = Some(match value(parser, CMD, "--digest")?.as_str() {
                    "sha-256" => DigestAlgorithm::Sha256,
                    "sha-512" => DigestAlgorithm::Sha512,
                    _ => return Err(Failure::usage(CMD, "--digest must be sha-256 or sha-512")),
                });
            }
            Arg::Long("curl") => a.curl = true,
            Arg::Long("print-base") => a.print_base = true,
            Arg::Value(v) => positional.push(utf8(v, CMD, "the URL")?),
            other => {
                let Arg::Long(long) = other else { return Err(unexpected(CMD, &other)) };
                let long = long.to_string();
                if !key_option(&long, parser, &mut key, CMD)? {
                    return Err(unexpected(CMD, &Arg::Long(&long)));
                }
            }
        }
    }
    if let Some(preset) = a.preset {
        a.url = match <[String; 1]>::try_from(positional) {
            Ok([url]) => url,
            Err(p) if p.is_empty() => String::new(),
            Err(_) => return Err(Failure::usage(CMD, "sign takes at most one URL (the body goes in --body FILE)")),
        };
        check_preset_sign(&a, &key, preset, scheme_given)?;
        a.key = key;
        return Ok(Command::Sign(a));
    }
    a.url = match <[String; 1]>::try_from(positional) {
        Ok([url]) => url,
        Err(p) if p.is_empty() => return Err(Failure::usage(CMD, "the URL to sign is required")),
        Err(_) => return Err(Failure::usage(CMD, "sign takes exactly one URL (put the body in a file: --body-file PATH)")),
    };
    if key.key_id.is_none() {
        return Err(Failure::usage(CMD, "--key-id is required"));
    }
    if a.webhook_id.is_some() {
        return Err(Failure::usage(CMD, "--id applies with --preset (a webhook delivery's id)"));
    }
    if scheme == SchemeKind::Simple {
        let rfc_only = [
            ("--label", a.label.is_some()),
            ("--components", a.components.is_some()),
            ("--expires-in", a.expires_in.is_some()),
            ("--tag", a.tag.is_some()),
            ("--include-alg", a.include_alg),
            ("--digest", a.digest.is_some()),
        ];
        if let Some((name, _)) = rfc_only.iter().find(|(_, given)| *given) {
            return Err(Failure::usage(CMD, format!("{name} applies to --scheme rfc9421 only")));
        }
    }
    a.key = key;
    a.scheme = scheme;
    Ok(Command::Sign(a))
}

/// The options `sign --preset` takes: the provider decides the headers, so key ids, schemes and
/// the RFC 9421 parameters do not apply; a body is required; `--id` and `--timestamp` only where
/// the provider signs them.
fn check_preset_sign(a: &SignArgs, key: &KeyArgs, preset: Preset, scheme_given: bool) -> R<()> {
    const CMD: Option<&str> = Some("sign");
    let not_with_preset = [
        ("--key-id", key.key_id.is_some()),
        ("--alg", key.algorithm != Algorithm::HmacSha256),
        ("--secret-encoding", key.encoding != SecretEncoding::Raw),
        ("--scheme", scheme_given),
        ("--method", a.method.is_some()),
        ("--nonce", a.nonce.is_some()),
        ("--label", a.label.is_some()),
        ("--components", a.components.is_some()),
        ("--expires-in", a.expires_in.is_some()),
        ("--tag", a.tag.is_some()),
        ("--include-alg", a.include_alg),
        ("--digest", a.digest.is_some()),
    ];
    if let Some((name, _)) = not_with_preset.iter().find(|(_, given)| *given) {
        return Err(Failure::usage(
            CMD,
            format!(
                "{name} does not apply with --preset (the provider's rules decide; the secret is given as its dashboard shows it)"
            ),
        ));
    }
    if a.body_file.is_none() {
        return Err(Failure::usage(CMD, "--preset needs the delivery's body: --body FILE (or - for stdin)"));
    }
    if a.curl && a.url.is_empty() {
        return Err(Failure::usage(CMD, "--curl needs the receiver's URL"));
    }
    if a.created.is_some() && !preset.signs_timestamp() {
        return Err(Failure::usage(CMD, format!("--timestamp does not apply: {} signs no timestamp", preset.name())));
    }
    if a.webhook_id.is_some() && !matches!(preset, Preset::StandardWebhooks | Preset::Svix) {
        return Err(Failure::usage(
            CMD,
            "--id applies to standard-webhooks and svix (the others take the event id from the body, or send it unsigned: add it with -H)",
        ));
    }
    Ok(())
}

fn parse_preset(s: &str, cmd: Option<&'static str>) -> R<Preset> {
    Preset::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
        Failure::usage(cmd, format!("--preset must be one of {}", names.join(", ")))
    })
}

fn check(parser: &mut Parser, name: &'static str) -> R<Command> {
    let cmd = Some(name);
    let mut key = KeyArgs::default();
    let mut a = CheckArgs {
        key: KeyArgs::default(),
        subject: None,
        scheme: SchemeKind::Rfc9421,
        input: None,
        at: None,
        max_age: None,
        max_skew: None,
        body_limit: None,
        url_scheme: None,
        host: None,
        labels: Vec::new(),
        tag: None,
        preset: None,
        tolerance: None,
    };
    let mut scheme_given = false;
    let mut positional = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| lex_error(cmd, e))? {
        match arg {
            Arg::Short('h') | Arg::Long("help") => {
                return Ok(Command::Help(if name == "verify" { Topic::Verify } else { Topic::Explain }));
            }
            Arg::Long("scheme") => {
                a.scheme = parse_scheme(&value(parser, cmd, "--scheme")?, cmd)?;
                scheme_given = true;
            }
            Arg::Long("preset") => a.preset = Some(parse_preset(&value(parser, cmd, "--preset")?, cmd)?),
            Arg::Long("tolerance") => {
                a.tolerance = Some(number(&value(parser, cmd, "--tolerance")?, cmd, "--tolerance", "seconds")?);
            }
            Arg::Long("subject") => a.subject = Some(value(parser, cmd, "--subject")?),
            Arg::Long("at") => a.at = Some(number(&value(parser, cmd, "--at")?, cmd, "--at", "Unix seconds")?),
            Arg::Long("max-age") => a.max_age = Some(number(&value(parser, cmd, "--max-age")?, cmd, "--max-age", "seconds")?),
            Arg::Long("max-skew") => {
                a.max_skew = Some(number(&value(parser, cmd, "--max-skew")?, cmd, "--max-skew", "seconds")?);
            }
            Arg::Long("body-limit") => {
                a.body_limit = Some(number(&value(parser, cmd, "--body-limit")?, cmd, "--body-limit", "bytes")?);
            }
            Arg::Long("url-scheme") => {
                let s = value(parser, cmd, "--url-scheme")?.to_ascii_lowercase();
                if s != "http" && s != "https" {
                    return Err(Failure::usage(cmd, "--url-scheme must be http or https"));
                }
                a.url_scheme = Some(s);
            }
            Arg::Long("host") => a.host = Some(value(parser, cmd, "--host")?),
            Arg::Long("label") => a.labels.push(value(parser, cmd, "--label")?),
            Arg::Long("tag") => a.tag = Some(value(parser, cmd, "--tag")?),
            Arg::Value(v) => positional.push(utf8(v, cmd, "the input file name")?),
            other => {
                let Arg::Long(long) = other else { return Err(unexpected(cmd, &other)) };
                let long = long.to_string();
                if !key_option(&long, parser, &mut key, cmd)? {
                    return Err(unexpected(cmd, &Arg::Long(&long)));
                }
            }
        }
    }
    a.input = match <[String; 1]>::try_from(positional) {
        Ok([file]) => Some(file),
        Err(p) if p.is_empty() => None,
        Err(_) => return Err(Failure::usage(cmd, format!("{name} reads one request: give one FILE, or none (or -) for stdin"))),
    };
    if a.preset.is_some() {
        let not_with_preset = [
            ("--key-id", key.key_id.is_some()),
            ("--subject", a.subject.is_some()),
            ("--alg", key.algorithm != Algorithm::HmacSha256),
            ("--secret-encoding", key.encoding != SecretEncoding::Raw),
            ("--scheme", scheme_given),
            ("--max-age", a.max_age.is_some()),
            ("--max-skew", a.max_skew.is_some()),
            ("--label", !a.labels.is_empty()),
            ("--tag", a.tag.is_some()),
        ];
        if let Some((flag, _)) = not_with_preset.iter().find(|(_, given)| *given) {
            return Err(Failure::usage(
                cmd,
                format!("{flag} does not apply with --preset (a provider names no key; the clock tolerance is --tolerance)"),
            ));
        }
    } else if a.tolerance.is_some() {
        return Err(Failure::usage(cmd, "--tolerance applies with --preset (signed requests use --max-age and --max-skew)"));
    }
    if name == "verify" && key.key_id.is_none() && a.preset.is_none() {
        return Err(Failure::usage(cmd, "--key-id is required"));
    }
    if a.subject.is_some() && key.key_id.is_none() {
        return Err(Failure::usage(cmd, "--subject needs --key-id"));
    }
    a.key = key;
    Ok(if name == "verify" { Command::Verify(a) } else { Command::Explain(a) })
}

/// The key options every command shares. Returns whether `arg` was one of them.
fn key_option(long: &str, parser: &mut Parser, key: &mut KeyArgs, cmd: Option<&'static str>) -> R<bool> {
    match long {
        "key-id" => key.key_id = Some(value(parser, cmd, "--key-id")?),
        "alg" | "algorithm" => {
            key.algorithm = match value(parser, cmd, "--alg")?.as_str() {
                "hmac-sha256" => Algorithm::HmacSha256,
                "hmac-sha512" => Algorithm::HmacSha512,
                _ => return Err(Failure::usage(cmd, "--alg must be hmac-sha256 or hmac-sha512")),
            };
        }
        "secret-env" => {
            let name = value(parser, cmd, "--secret-env")?;
            if !is_env_name(&name) {
                // Not repeated: what was given may be the secret itself.
                return Err(Failure::usage(
                    cmd,
                    "--secret-env takes the NAME of an environment variable that holds the secret (letters, digits and \
                     _, not starting with a digit, at most 64), not the secret itself (the value given is not shown)",
                ));
            }
            key.secret_env = Some(name);
        }
        "secret-file" => key.secret_file = Some(value(parser, cmd, "--secret-file")?),
        "secret-encoding" => {
            key.encoding = match value(parser, cmd, "--secret-encoding")?.as_str() {
                "raw" | "utf8" | "utf-8" => SecretEncoding::Raw,
                "hex" => SecretEncoding::Hex,
                "base64" => SecretEncoding::Base64,
                _ => return Err(Failure::usage(cmd, "--secret-encoding must be raw, hex or base64")),
            };
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn parse_scheme(s: &str, cmd: Option<&'static str>) -> R<SchemeKind> {
    match s {
        "rfc9421" => Ok(SchemeKind::Rfc9421),
        "simple" => Ok(SchemeKind::Simple),
        _ => Err(Failure::usage(cmd, "--scheme must be rfc9421 or simple")),
    }
}

/// `Name: value` from `-H`.
fn header(s: &str) -> R<(String, String)> {
    const CMD: Option<&str> = Some("sign");
    let Some((name, value)) = s.split_once(':') else {
        return Err(Failure::usage(CMD, "--header needs 'Name: value'"));
    };
    let name = name.trim_matches([' ', '\t']);
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(Failure::usage(CMD, "--header: the name must be an HTTP token"));
    }
    let value = value.trim_matches([' ', '\t']);
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(Failure::usage(CMD, format!("--header {name}: the value has control characters")));
    }
    let lower = name.to_ascii_lowercase();
    let produced = ["signature", "signature-input", "content-digest"].contains(&lower.as_str()) || lower.starts_with("x-hmac-");
    if produced {
        return Err(Failure::usage(CMD, format!("--header {name}: sign writes this header itself")));
    }
    if lower == "content-length" || lower == "transfer-encoding" {
        return Err(Failure::usage(CMD, format!("--header {name}: the body file decides it")));
    }
    Ok((name.to_string(), value.to_string()))
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn value(parser: &mut Parser, cmd: Option<&'static str>, name: &str) -> R<String> {
    let v = parser.value().map_err(|_| Failure::usage(cmd, format!("{name} needs a value")))?;
    utf8(v, cmd, name)
}

fn utf8(v: OsString, cmd: Option<&'static str>, what: &str) -> R<String> {
    v.into_string().map_err(|_| Failure::usage(cmd, format!("{what} is not valid UTF-8")))
}

fn number<T: FromStr>(s: &str, cmd: Option<&'static str>, name: &str, unit: &str) -> R<T> {
    s.parse().map_err(|_| Failure::usage(cmd, format!("{name} must be a whole number ({unit})")))
}

/// An option or argument no command accepts. Secret-carrying flags get the reason they are refused.
fn unexpected(cmd: Option<&'static str>, arg: &Arg<'_>) -> Failure {
    match arg {
        Arg::Long(name) if SECRET_FLAGS.contains(name) => Failure::usage(
            cmd,
            format!(
                "refusing --{name}: a secret on the command line is visible to other users (ps, /proc) and is kept in \
                 shell history. Put it in an environment variable ({}, or name another with --secret-env NAME) or in a \
                 file (--secret-file PATH).",
                DEFAULT_SECRET_ENV
            ),
        ),
        Arg::Long(name) => Failure::usage(cmd, format!("unknown option {}", printable(&format!("--{name}")))),
        Arg::Short(c) => Failure::usage(cmd, format!("unknown option {}", printable(&format!("-{c}")))),
        Arg::Value(_) => Failure::usage(cmd, "unexpected argument (arguments are not repeated here)"),
    }
}

fn lex_error(cmd: Option<&'static str>, e: lexopt::Error) -> Failure {
    match e {
        lexopt::Error::MissingValue { option: Some(o) } => Failure::usage(cmd, format!("{} needs a value", printable(&o))),
        lexopt::Error::UnexpectedValue { option, .. } => {
            let bare = option.trim_start_matches('-');
            if SECRET_FLAGS.contains(&bare) {
                return unexpected(cmd, &Arg::Long(bare));
            }
            Failure::usage(cmd, format!("{} takes no value", printable(&option)))
        }
        lexopt::Error::UnexpectedOption(o) => Failure::usage(cmd, format!("unknown option {}", printable(&o))),
        lexopt::Error::NonUnicodeValue(_) => Failure::usage(cmd, "an argument is not valid UTF-8"),
        lexopt::Error::MissingValue { option: None }
        | lexopt::Error::UnexpectedArgument(_)
        | lexopt::Error::ParsingFailed { .. }
        | lexopt::Error::Custom(_) => Failure::usage(cmd, "invalid arguments"),
    }
}

/// An option name as typed, when it looks like one (short, lowercase letters, digits and dashes);
/// anything else is not repeated, in case it is a value pasted by mistake.
fn printable(s: &str) -> String {
    let bare = s.trim_start_matches('-');
    if !bare.is_empty() && bare.len() <= 24 && bare.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        s.to_string()
    } else {
        "(not shown: it does not look like an option name)".into()
    }
}
