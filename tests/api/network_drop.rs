//! The network between the app and PostgreSQL silently dropping every packet, mid-stream: no FIN,
//! no RST, the connections left open, as when a firewall or NAT forgets them or a link fails
//! between switches. Then the network comes back.
//!
//! Proves: libpq's timeouts and keepalives (`core/src/db.rs`, `NETWORK_DEFAULTS`) end the lost
//! connections, so every request in flight at the drop and every one sent during it is answered,
//! a 503 Problem with `Retry-After` (none hangs: each must answer within `REQUEST_LIMIT`, a guard
//! against hanging rather than a measure); 2xx comes back by itself once the network does; no
//! write is partial (an interview with its reminders, audit row and idempotency record, a
//! message with its audit row and idempotency record: all or none); and a retry of each 503 with
//! its `Idempotency-Key` leaves exactly one record. And the worker loop, its database gone
//! silent mid-dispatch, heals by itself and sends everything, nothing twice.
//!
//! The loss is made below TCP: a user and network namespace of the test's own (`unshare`, no
//! privilege needed) where the app or the worker runs with its database reached through a Unix socket, and a
//! queue on that namespace's loopback (`tc`) that takes the packets of the app's database port
//! and never sends them. A proxy that stops forwarding cannot do it (see `tcp_proxy.rs`). The
//! test re-runs its own binary inside the namespace; without `unshare` and `tc`, or where user
//! namespaces are disabled, it says it skipped.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ips_core::Db;

use crate::database_faults::{
    back_by_itself, client, committed_behind_503s, gather, whole_or_absent, Direct, Kind, Seen,
    Targets,
};
use crate::fake_fcm::FakeFcm;
use crate::helpers::{backend, TestApp, TestBackend, TestDatabase, World};
use crate::tcp_proxy::{Endpoint, Proxy};
use crate::worker_faults::{
    assert_each_push_once, count_of, due_pushes, insert_due, recipients, unsettled, wait_until,
};

/// Set for the run inside the namespace: the Unix socket that reaches PostgreSQL.
const INSIDE: &str = "IPS_TEST_NETWORK_DROP_SOCKET";
const CLIENTS: usize = 4;
/// Longer than a lost connection takes to fail (about 11 s) plus a new one's `connect_timeout`
/// (5 s), so each client has requests answered during the drop.
const DROP_FOR: Duration = Duration::from_secs(25);
/// No request may take longer (a lost connection fails within about 11 s).
const REQUEST_LIMIT: Duration = Duration::from_secs(30);
const WORKER_NOTIFICATIONS: i64 = 2_000;
/// Longer than a lost connection takes to fail, so every write the worker had in hand fails.
const WORKER_DROP_FOR: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_network_drop_mid_stream_answers_503_and_heals() {
    run_inside("network_drop::inside_a_network_namespace").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_network_drop_mid_dispatch_heals_the_worker_without_a_restart() {
    run_inside("network_drop::the_worker_inside_a_network_namespace").await;
}

/// Runs the test named `inner` of this binary in a user and network namespace of its own, with
/// a Unix socket to PostgreSQL; fails if it fails or did not run.
async fn run_inside(inner: &str) {
    if backend() != TestBackend::Postgres {
        eprintln!("the silent-drop tests run with IPS_TEST_DATABASE=postgres");
        return;
    }
    if !namespaces_work() {
        // CI sets this, so a machine that lost the tools fails instead of passing unproven.
        assert!(
            std::env::var_os("IPS_REQUIRE_NETWORK_NAMESPACES").is_none(),
            "IPS_REQUIRE_NETWORK_NAMESPACES is set but unshare or tc does not work here"
        );
        eprintln!(
            "the silent-drop tests need unshare (user and network namespaces) and tc: skipped"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("postgres.sock");
    let _bridge = Proxy::bridge(
        Endpoint::Unix(socket.clone()),
        Endpoint::Tcp("127.0.0.1:5432".into()),
    )
    .await;
    let mut inside = tokio::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "--"])
        .arg(std::env::current_exe().expect("the test binary"))
        .args([inner, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, &socket)
        .env(
            "IPS_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        )
        .kill_on_drop(true)
        .spawn()
        .expect("start the test inside a namespace");
    let status = tokio::time::timeout(Duration::from_secs(300), inside.wait())
        .await
        .expect("the test inside the namespace ended within 5 minutes")
        .expect("wait for it");
    assert!(status.success(), "{inner} inside the namespace: {status}");
    assert!(
        done_marker(&socket).exists(),
        "{inner} did not run inside the namespace"
    );
}

/// Inside a namespace made by [`run_inside`]: its loopback up, the tests' usual PostgreSQL
/// address (never dropped, for making the database and checking it), and a second way to the
/// database for the code under test, which [`SilentDrop`] can take. `None` outside.
async fn namespace() -> Option<(PathBuf, Proxy, Proxy, SilentDrop)> {
    let socket = std::env::var_os(INSIDE).map(PathBuf::from)?;
    run("ip", "link set lo up");
    let postgres = Endpoint::Unix(socket.clone());
    let plain = Proxy::bridge(Endpoint::Tcp("127.0.0.1:5432".into()), postgres.clone()).await;
    let way = Proxy::bridge(Endpoint::Tcp("127.0.0.1:0".into()), postgres).await;
    Some((socket, plain, way, SilentDrop::prepare()))
}

/// The API side, run inside its namespace by the test above; run alone, it does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_network_namespace() {
    let Some((socket, _plain, way, silence)) = namespace().await else {
        return;
    };

    let database = TestDatabase::new();
    let direct = Direct(Db::connect(&database.url, 2).expect("direct connection"));
    let via = database.url_via(way.port());
    let app = Arc::new(TestApp::spawn_on(database, Some(via), |c| c.database_pool_size = 4).await);
    let targets = Arc::new(Targets::seed(&app, CLIENTS, REQUEST_LIMIT).await);
    let reminders_per_interview = targets.reminders_per_interview(&app, &direct).await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(app.clone(), targets.clone(), n, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    silence.start(way.port());
    let dropped_at = Instant::now();
    tokio::time::sleep(DROP_FOR).await;
    silence.end();
    let back_at = Instant::now();
    let healed_after = back_by_itself(&app, &targets, back_at, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let Seen {
        attempts,
        tally,
        slowest,
    } = gather(clients).await;
    // Caught mid-request: sent before the drop, answered after it.
    let caught: Vec<_> = attempts
        .iter()
        .filter(|a| a.sent < dropped_at && a.answered > dropped_at)
        .collect();
    let caught_503 = caught.iter().filter(|a| a.status == 503).count();
    println!(
        "network silent for {:.0} s: {} requests {tally:?}; {} in flight at the drop ({caught_503} \
         answered 503); slowest answer {:.1} s; 2xx again {:.2} s after the network returned",
        DROP_FOR.as_secs_f64(),
        attempts.len(),
        caught.len(),
        slowest.as_secs_f64(),
        healed_after.as_secs_f64()
    );

    // Every answer came (the clients' limit) and none was a 500 (the clients' allowed statuses).
    // Sent during the drop and answered before its end: the database was unreachable throughout.
    let during: Vec<_> = attempts
        .iter()
        .filter(|a| a.sent > dropped_at && a.answered < back_at)
        .collect();
    assert!(
        during.len() >= CLIENTS,
        "only {} answers came during the drop",
        during.len()
    );
    for a in &during {
        assert_eq!(
            a.status, 503,
            "{:?} {} answered during the drop",
            a.kind, a.key
        );
    }
    assert!(
        caught_503 >= 1,
        "no request in flight at the drop was answered 503 ({} in flight)",
        caught.len()
    );
    assert!(
        attempts
            .iter()
            .any(|a| a.sent > back_at && (200..300).contains(&a.status)),
        "the stream got no 2xx after the network returned"
    );

    // No partial writes, and a retry of each 503 with its key gives exactly one record.
    let committed_unseen = committed_behind_503s(&direct, &attempts, reminders_per_interview);
    let mut replayed = 0;
    for a in attempts
        .iter()
        .filter(|a| a.status == 503 && matches!(a.kind, Kind::Interview | Kind::Message))
    {
        let reply = targets.retry(&app, a).await;
        assert_eq!(reply.status, 201, "retry of {}: {}", a.key, reply.text);
        if reply.header("idempotent-replayed") == Some("true") {
            replayed += 1;
        }
        assert_eq!(whole_or_absent(&direct, a, reminders_per_interview), 1);
    }
    assert_eq!(
        replayed, committed_unseen,
        "a retry replays exactly the requests whose 503 hid a commit"
    );
    std::fs::write(done_marker(&socket), b"").expect("mark the run done");
}

/// The worker side, run inside its namespace: the real worker loop (as `ips work` runs it) on a
/// pool whose way to the database goes silent while pushes wait for the provider's answer, for
/// longer than a lost connection takes to fail. Proves, as the connection-cut test in
/// `worker_faults.rs` does for a cut: the worker heals by itself and sends everything, nothing
/// twice, and the pushes answered while the database was silent are in doubt, not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_inside_a_network_namespace() {
    let Some((socket, _plain, way, silence)) = namespace().await else {
        return;
    };
    let started = Instant::now();
    let database = TestDatabase::new();
    let via = database.url_via(way.port());
    // The API and the test's own queries take the way that is never dropped.
    let app = TestApp::spawn_on(database, None, |_| {}).await;
    let w = World::build(&app).await;
    let people = recipients(&app, &w.specialist, "drop", 6, 3).await;
    insert_due(&app, &people, WORKER_NOTIFICATIONS, "drop");
    let pushes = due_pushes(&app, &people);
    let fake = FakeFcm::start();
    fake.set_latency(Duration::from_millis(100));
    // A lease shorter than the configuration allows, so what the drop left claimed is taken
    // over within seconds of the network's return (the fake answers far within it).
    let mut config = crate::helpers::test_config(&via);
    config.fcm_credentials = fake.key_file.path().display().to_string();
    config.fcm_base_url = fake.base_url.clone();
    config.dispatch_interval_seconds = 1;
    config.dispatch_lease_seconds = 5;
    config.dispatch_batch = 100;
    let db = Db::connect(&via, ips_core::Config::defaults().database_pool_size).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(ips_worker::run(db, config, stopped));

    // Mid-dispatch, for certain: the provider holds the pushes it receives, and once a few wait
    // for its answer the network to the database goes silent; the answers come meanwhile.
    wait_until("a third is pushed", Duration::from_secs(60), || {
        fake.received() >= pushes / 3
    })
    .await;
    fake.close();
    wait_until(
        "pushes wait for the provider",
        Duration::from_secs(20),
        || fake.held() >= 4,
    )
    .await;
    silence.start(way.port());
    let (at_drop, held) = (fake.received(), fake.held());
    fake.open();
    tokio::time::sleep(WORKER_DROP_FOR).await;
    let during_drop = fake.received() - at_drop;
    silence.end();
    wait_until(
        "the queue is drained after the network returned",
        Duration::from_secs(90),
        || unsettled(&app) == 0,
    )
    .await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("the worker stops")
        .unwrap()
        .unwrap();

    let taken_over = count_of(
        &app,
        "SELECT COUNT(*) AS n FROM notifications WHERE attempts > 1",
    );
    let (in_doubt, doubt_lost) = assert_each_push_once(&app, &people, &fake);
    assert!(
        in_doubt >= held,
        "{held} pushes answered during the drop, {in_doubt} in doubt"
    );
    assert!(taken_over > 0, "claims the drop left were taken over");
    println!(
        "network silent mid-dispatch: {WORKER_NOTIFICATIONS} notifications, {held} pushes awaiting an answer at \
         {at_drop} received ({during_drop} more during the {WORKER_DROP_FOR:?} drop), {} received, {taken_over} \
         taken over after it, {in_doubt} in doubt ({doubt_lost} of them never reached the provider), {:.1} s",
        fake.received(),
        started.elapsed().as_secs_f64()
    );
    std::fs::write(done_marker(&socket), b"").expect("mark the run done");
}

/// Whether this machine can make a namespace with its own loopback queue.
fn namespaces_work() -> bool {
    Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--net",
            "tc",
            "qdisc",
            "show",
            "dev",
            "lo",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Written by the inner run when it finished, so an inner run that matched no test fails.
fn done_marker(socket: &std::path::Path) -> PathBuf {
    socket.with_file_name("done")
}

fn run(program: &str, args: &str) {
    let status = Command::new(program)
        .args(args.split_whitespace())
        .status()
        .unwrap_or_else(|e| panic!("{program} {args}: {e}"));
    assert!(status.success(), "{program} {args}: {status}");
}

/// A queue on the namespace's loopback that takes the packets to and from one port and does not
/// send them for about 20 minutes: a silent loss in both directions, below TCP, so the kernel
/// neither acknowledges nor answers anything on those connections and closes none of them.
struct SilentDrop;

impl SilentDrop {
    /// Everything passes at 10 Gbit/s, except what is sorted into class 1:30, which may send a
    /// byte a second. A class starts with a little credit (a few small packets); one large
    /// datagram sorted there at once spends it and leaves a debt of about 20 minutes, so the
    /// first packet held is held as long as the rest.
    fn prepare() -> SilentDrop {
        run("tc", "qdisc add dev lo root handle 1: htb default 10");
        run(
            "tc",
            "class add dev lo parent 1: classid 1:10 htb rate 10gbit quantum 60000",
        );
        run(
            "tc",
            "class add dev lo parent 1: classid 1:30 htb rate 8bit ceil 8bit quantum 1514",
        );
        run(
            "tc",
            "qdisc add dev lo parent 1:30 handle 30: pfifo limit 100000",
        );
        run(
            "tc",
            "filter add dev lo parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff \
             match ip dport 9 0xffff flowid 1:30",
        );
        UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.send_to(&[0u8; 1400], "127.0.0.1:9"))
            .expect("spend the held class's credit");
        SilentDrop
    }

    /// Holds every packet to or from `port` from now on.
    fn start(&self, port: u16) {
        for side in ["dport", "sport"] {
            run(
                "tc",
                &format!(
                    "filter add dev lo parent 1: protocol ip prio 2 u32 match ip {side} {port} 0xffff flowid 1:30"
                ),
            );
        }
    }

    /// The network is back: the queue goes, and the packets it held are lost with it (their
    /// connections have ended by then).
    fn end(&self) {
        run("tc", "qdisc del dev lo root");
    }
}
