//! End to end on 127.0.0.1, for actix-web and axum: the same one-route app with and without the
//! hmac-guard middleware, 1 KiB signed JSON POSTs (simple scheme) over keep-alive connections.
//!
//! ```sh
//! cargo build --release -p hmac-guard-actix -p hmac-guard-axum --examples
//! target/release/examples/bench_http [--framework actix|axum|both] [--rounds 6] [--secs 2]
//!                                    [--warm 1] [--slice 0.25] [--conns 16]
//! ```
//!
//! Paired, as the Express and Flask harnesses (docs/benchmarks.md): per round three fresh server
//! processes — guarded, no-auth, and a second no-auth (the A/A control) — pinned to CPU 0, the
//! loader (this process) to CPU 1. The loader switches between them every `--slice` seconds, one
//! loaded at a time, so all three see the same drift of the machine. Reported per round and as
//! medians: requests/s ratios to the no-auth server, and CPU 0's busy time per request (the
//! server process and the kernel's loopback work for it; the ratio that decides a CPU-bound
//! server's throughput), with how busy CPU 0 and the loader were.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hmac_guard::{Algorithm, KeySpec, Signer, SimpleSignOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Opts {
    frameworks: Vec<&'static str>,
    rounds: usize,
    secs: f64,
    warm: f64,
    slice: f64,
    conns: usize,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| args.iter().position(|a| a == name).map(|i| args[i + 1].clone());
    let num = |name: &str, d: f64| get(name).map_or(d, |v| v.parse().unwrap());
    let frameworks = match get("--framework").as_deref() {
        Some("actix") => vec!["actix"],
        Some("axum") => vec!["axum"],
        _ => vec!["actix", "axum"],
    };
    Opts {
        frameworks,
        rounds: num("--rounds", 6.0) as usize,
        secs: num("--secs", 2.0),
        warm: num("--warm", 1.0),
        slice: num("--slice", 0.25),
        conns: num("--conns", 16.0) as usize,
    }
}

/// A server process and how much CPU it has used.
struct Server {
    child: Child,
    port: u16,
    done: usize,
    loaded: Duration,
    cpu_ticks: u64,
    /// The loader's own CPU while it loaded this server (a loader-bound run shows ≈ 100 %).
    loader_ticks: u64,
    /// CPU 0 (the servers' CPU) busy while this server was loaded.
    cpu0_ticks: u64,
}

fn ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces): utime and stime are the 12th
    // and 13th after the closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0)
}

/// CPU 0's busy ticks (user, nice, system, irq, softirq, steal): the server's CPU including the
/// kernel's network work on its behalf, which the process's own accounting leaves out.
fn cpu0_busy() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().find(|l| l.starts_with("cpu0 ")).unwrap_or("");
    let f: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    [0, 1, 2, 5, 6, 7].iter().map(|&i| f.get(i).copied().unwrap_or(0)).sum()
}

fn spawn(bin: &PathBuf, guard: bool) -> Server {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0"]).arg(bin).args(["--port", &port.to_string()]);
    if guard {
        cmd.args(std::env::var("HG_BENCH_GUARD_FLAG").unwrap_or_else(|_| "--guard".into()).split(' '));
    }
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{} did not start", bin.display());
        std::thread::sleep(Duration::from_millis(10));
    }
    Server { child, port, done: 0, loaded: Duration::ZERO, cpu_ticks: 0, loader_ticks: 0, cpu0_ticks: 0 }
}

/// Signed requests, each usable once per server (its nonce is consumed there).
fn signed_requests(n: usize) -> Arc<Vec<Vec<u8>>> {
    let signer = Signer::new(KeySpec::new("k1", vec![0x42u8; 32], Algorithm::HmacSha256)).unwrap();
    let body = format!("{{\"data\":\"{}\"}}", "x".repeat(1024 - 11));
    Arc::new(
        (0..n)
            .map(|_| {
                let headers = signer.sign_simple("POST", "/r", body.as_bytes(), &SimpleSignOptions::default()).unwrap();
                let mut raw = format!(
                    "POST /r HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    raw.push_str(&format!("{k}: {v}\r\n"));
                }
                raw.push_str("\r\n");
                raw.push_str(&body);
                raw.into_bytes()
            })
            .collect(),
    )
}

/// One keep-alive connection: request, full response, next, until `until`. Returns the 200s.
async fn drive(mut con: TcpStream, wire: Arc<Vec<Vec<u8>>>, next: Arc<AtomicUsize>, until: Instant) -> (TcpStream, usize) {
    let mut ok = 0;
    let mut buf = vec![0u8; 4096];
    while Instant::now() < until {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(req) = wire.get(i) else { break };
        con.write_all(req).await.unwrap();
        let mut have = 0;
        loop {
            let n = con.read(&mut buf[have..]).await.unwrap();
            assert!(n > 0, "server closed the connection");
            have += n;
            let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = std::str::from_utf8(&buf[..end]).unwrap().to_ascii_lowercase();
            let len: usize =
                head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
            if have >= end + 4 + len {
                assert!(head.starts_with("http/1.1 200"), "not a 200: {}", String::from_utf8_lossy(&buf[..have]));
                ok += 1;
                break;
            }
        }
    }
    (con, ok)
}

/// Loads one server for `secs` seconds over its connections; adds to its counters.
async fn load(server: &mut Server, cons: &mut Vec<TcpStream>, wire: &Arc<Vec<Vec<u8>>>, next: &Arc<AtomicUsize>, secs: f64) {
    let pid = server.child.id();
    let before = ticks(pid);
    let loader_before = ticks(std::process::id());
    let cpu0_before = cpu0_busy();
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let tasks: Vec<_> =
        cons.drain(..).map(|c| tokio::task::spawn_local(drive(c, Arc::clone(wire), Arc::clone(next), until))).collect();
    for t in tasks {
        let (c, ok) = t.await.unwrap();
        cons.push(c);
        server.done += ok;
    }
    server.loaded += started.elapsed();
    server.cpu_ticks += ticks(pid) - before;
    server.loader_ticks += ticks(std::process::id()) - loader_before;
    server.cpu0_ticks += cpu0_busy() - cpu0_before;
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let o = opts();
    let me = std::process::id().to_string();
    let pinned = Command::new("taskset").args(["-cp", "1", &me]).stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(pinned, "taskset is needed to pin the loader and the servers (util-linux)");
    let tick_us = 1e6 / 100.0; // USER_HZ
    let dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    for framework in &o.frameworks {
        let bin = dir.join(format!("{framework}_bench_server"));
        let mut rps_ratio = Vec::new();
        let mut aa_ratio = Vec::new();
        let mut cpu_ratio = Vec::new();
        let mut extra_us = Vec::new();
        let mut noauth_us = Vec::new();
        println!("{framework}: {} rounds of {} s per server in {} s slices, {} connections", o.rounds, o.secs, o.slice, o.conns);
        for round in 0..o.rounds {
            let per_server = ((o.secs + o.warm) * 60_000.0) as usize;
            let wire = signed_requests(per_server);
            let mut servers = [spawn(&bin, true), spawn(&bin, false), spawn(&bin, false)];
            local.block_on(&rt, async {
                let mut pools = Vec::new();
                for s in &servers {
                    let mut cons = Vec::new();
                    for _ in 0..o.conns {
                        let c = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
                        c.set_nodelay(true).unwrap();
                        cons.push(c);
                    }
                    pools.push((cons, Arc::new(AtomicUsize::new(0))));
                }
                for (s, (cons, next)) in servers.iter_mut().zip(pools.iter_mut()) {
                    load(s, cons, &wire, next, o.warm).await;
                    (s.done, s.loaded, s.cpu_ticks, s.loader_ticks, s.cpu0_ticks) = (0, Duration::ZERO, 0, 0, 0);
                }
                let slices = (o.secs / o.slice).round() as usize;
                for i in 0..slices {
                    // Rotate the order so no server always follows the same one.
                    for k in 0..3 {
                        let j = (i + k) % 3;
                        let (cons, next) = &mut pools[j];
                        load(&mut servers[j], cons, &wire, next, o.slice).await;
                    }
                }
            });
            let rps = |s: &Server| s.done as f64 / s.loaded.as_secs_f64();
            // CPU 0 per request: the server process and the kernel's work for it.
            let cpu = |s: &Server| s.cpu0_ticks as f64 * tick_us / s.done.max(1) as f64;
            let [hmac, noauth, noauth2] = &servers;
            rps_ratio.push(rps(hmac) / rps(noauth));
            aa_ratio.push(rps(noauth2) / rps(noauth));
            cpu_ratio.push(cpu(noauth) / cpu(hmac));
            extra_us.push(cpu(hmac) - cpu(noauth));
            noauth_us.push(cpu(noauth));
            let busy = |s: &Server| s.cpu0_ticks as f64 * tick_us / 1e4 / s.loaded.as_secs_f64();
            let loader = |s: &Server| s.loader_ticks as f64 * tick_us / 1e4 / s.loaded.as_secs_f64();
            println!(
                "  round {round}: req/s hmac {:.0}, no-auth {:.0}, A/A {:.0} | CPU 0 per request {:.1} / {:.1} / {:.1} µs | CPU 0 busy {:.0} / {:.0} / {:.0} %, loader {:.0} / {:.0} / {:.0} %",
                rps(hmac),
                rps(noauth),
                rps(noauth2),
                cpu(hmac),
                cpu(noauth),
                cpu(noauth2),
                busy(hmac),
                busy(noauth),
                busy(noauth2),
                loader(hmac),
                loader(noauth),
                loader(noauth2)
            );
            for s in &mut servers {
                let _ = s.child.kill();
                let _ = s.child.wait();
            }
        }
        let range = |v: &[f64]| {
            let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
            format!("({lo:.3}–{hi:.3})")
        };
        println!(
            "{framework}: req/s ratio {:.3} {} | A/A {:.3} {} | CPU ratio {:.3} {} | extra CPU {:+.1} µs/request (no auth {:.1} µs)",
            median(rps_ratio.clone()),
            range(&rps_ratio),
            median(aa_ratio.clone()),
            range(&aa_ratio),
            median(cpu_ratio.clone()),
            range(&cpu_ratio),
            median(extra_us),
            median(noauth_us)
        );
    }
}
