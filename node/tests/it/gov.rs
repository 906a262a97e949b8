//! `autonet gov` and `autonet integrity` against a local anvil: a fingerprint goes through
//! Governor → Timelock → Registry from the command line; a node whose build differs from the
//! published fingerprint refuses `join --role` (or runs unstaked with `--allow-unverified`), one
//! that matches passes; bad proposals are refused and change nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use alloy::primitives::{Address, U256};
use autonet_contracts::anvil::{AnvilProcess, default_binary};
use autonet_contracts::bindings::RepToken;
use autonet_contracts::{ATN, Backend, Contracts, RpcChain};

use crate::{autonet, run_fails, run_ok, stdout};

const VERSION: &str = env!("CARGO_PKG_VERSION");

struct Net {
    data: std::path::PathBuf,
    pw: std::path::PathBuf,
    url: String,
    governor: String,
    chain: Contracts<RpcChain>,
}

impl Net {
    /// `autonet <args> --rpc-url … --governor …` (plus the deployer key for signing commands).
    fn gov(&self, args: &[&str], signs: bool) -> Command {
        let mut cmd = autonet(&self.data);
        cmd.args(args)
            .args(["--rpc-url", &self.url, "--governor", &self.governor]);
        if signs {
            cmd.args(["--role", "deployer", "--password-file"])
                .arg(&self.pw);
        }
        cmd
    }

    /// `--json` output, checked against the command's schema (`gov-status` for the commands
    /// that print a proposal's status).
    fn json(&self, args: &[&str], signs: bool) -> serde_json::Value {
        let mut cmd = self.gov(args, signs);
        let text = stdout(&run_ok(cmd.arg("--json")));
        crate::schema::parse_and_check(schema_name(args), &text)
    }

    async fn mine(&self, blocks: u64) {
        self.chain.backend().mine(blocks).await.unwrap();
    }

    /// Proposes `setting`, votes for it, waits out the voting period and the Timelock delay,
    /// executes; returns the final status.
    async fn pass(&self, setting: &[&str]) -> serde_json::Value {
        let mut args = vec!["gov", "propose"];
        args.extend_from_slice(setting);
        let proposed = self.json(&args, true);
        let id = proposed["id"].as_str().unwrap().to_owned();
        assert_eq!(proposed["state"], "pending", "{proposed}");
        self.mine(2).await;
        let voted = self.json(&["gov", "vote", &id], true);
        assert_eq!(voted["id"], id.as_str(), "{voted}");
        self.mine(51).await;
        let queued = self.json(&["gov", "queue", &id], true);
        assert_eq!(queued["state"], "queued", "{queued}");
        // Blocks are at least a second apart: two of them pass the 1 s Timelock delay.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        self.mine(2).await;
        let executed = self.json(&["gov", "execute", &id], true);
        assert_eq!(executed["state"], "executed", "{executed}");
        let status = self.json(&["gov", "status", &id], false);
        assert_eq!(status, executed);
        status
    }

    fn plan(&self) -> std::path::PathBuf {
        let plan = serde_json::json!({
            "governor": self.governor, "project": "0x1", "epochs": 1,
            "proposers": [Address::ZERO], "batch": 8, "slice": 2, "held_out": 2,
            "train_epochs": 1, "commit_blocks": 10, "reveal_blocks": 10, "vote_blocks": 10,
            "solver_reward_wei": "0x1", "coordinator_reward_wei": "0x1",
        });
        let path = self.data.join("plan.json");
        std::fs::write(&path, plan.to_string()).unwrap();
        path
    }

    fn join(&self, extra: &[&str]) -> Command {
        let mut cmd = autonet(&self.data);
        let plan = self.plan();
        cmd.args(["join", "--role", "solver", "--rpc-url", &self.url, "--plan"])
            .arg(plan)
            .args([
                "--bootstrap",
                "/ip4/127.0.0.1/tcp/9",
                "--status",
                "127.0.0.1:0",
            ])
            .arg("--password-file")
            .arg(&self.pw)
            .args(extra);
        cmd
    }
}

/// The schema of `autonet <args> --json` (docs/json/README.md).
fn schema_name(args: &[&str]) -> &'static str {
    match args {
        ["integrity", ..] => "integrity",
        ["gov", "vote", ..] => "gov-vote",
        ["gov", "delegate", ..] => "gov-delegate",
        ["gov", "propose" | "queue" | "execute" | "status", ..] => "gov-status",
        _ => panic!("no schema for {args:?}"),
    }
}

async fn setup(anvil: &AnvilProcess, data: &Path) -> Net {
    let pw = data.join("pw");
    std::fs::write(&pw, "pw\n").unwrap();
    let created = stdout(&run_ok(
        autonet(data)
            .args(["key", "create", "--role", "deployer", "--password-file"])
            .arg(&pw),
    ));
    let deployer: Address = created.split_whitespace().nth(3).unwrap().parse().unwrap();
    anvil.fund(&[deployer]).await.unwrap();
    let url = anvil.url.clone();
    let out = stdout(&run_ok(
        autonet(data)
            .args(["chain", "deploy", "--rpc-url", &url, "--password-file"])
            .arg(&pw),
    ));
    let governor = out.trim().strip_prefix("governor: ").unwrap().to_owned();
    let chain = crate::deployer_suite(data, "pw", &url, &governor).await;
    // REP is minted DAO-side; here the deployer (RepToken's owner) mints itself some.
    let mint = RepToken::mintCall {
        to: deployer,
        amount: U256::from(10u64) * ATN,
    };
    chain
        .send(deployer, chain.addresses.rep, mint)
        .await
        .unwrap();
    Net {
        data: data.to_path_buf(),
        pw,
        url,
        governor,
        chain,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_publishes_the_fingerprint_nodes_check() {
    let anvil = AnvilProcess::spawn(&default_binary(), None, None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = setup(&anvil, dir.path()).await;
    let key = format!("node.code.hash.{VERSION}");

    // Nothing published yet: unchecked roles are not refused.
    let integrity = net.json(&["integrity"], false);
    assert_eq!(integrity["status"], "unpublished", "{integrity}");
    let local = integrity["protected"].as_str().unwrap().to_owned();

    // Bad proposals are refused before anything is sent.
    run_fails(
        &mut net.gov(
            &[
                "gov",
                "propose",
                "--key",
                "node.code.hashes",
                "--value",
                &format!("0x{local}"),
            ],
            true,
        ),
        "unknown governed key",
    );
    let bad = net.data.join("bad.toml");
    std::fs::write(&bad, "schema = 1\nprinciples = \"none\"\n").unwrap();
    run_fails(
        &mut net.gov(
            &["gov", "propose", "--constitution", bad.to_str().unwrap()],
            true,
        ),
        "is not a constitution this node adopts",
    );
    std::fs::write(&bad, vec![b'#'; 70_000]).unwrap();
    run_fails(
        &mut net.gov(
            &["gov", "propose", "--constitution", bad.to_str().unwrap()],
            true,
        ),
        "more than the 65536 allowed",
    );
    // Votes are delegated REP: without delegation the vote is refused with the reason.
    let early = net.json(&["gov", "propose", "--param", "unbonding_blocks=200"], true);
    run_fails(
        &mut net.gov(&["gov", "vote", early["id"].as_str().unwrap()], true),
        "is pending, not open for votes",
    );
    net.mine(2).await;
    run_fails(
        &mut net.gov(&["gov", "vote", early["id"].as_str().unwrap()], true),
        "no REP voting power",
    );
    let delegated = net.json(&["gov", "delegate"], true);
    assert_eq!(delegated["address"], delegated["delegate"], "{delegated}");
    net.mine(1).await;

    // Governance publishes another build's fingerprint: this node refuses its staked role.
    let other = format!("0x{}", "11".repeat(32));
    let done = net.pass(&["--key", &key, "--value", &other]).await;
    assert_eq!(done["key"], key.as_str());
    let out = net.gov(&["integrity"], false).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("mismatch"), "{}", stdout(&out));
    // With --json the report still comes, on stdout, before the failing exit status.
    let out = net.gov(&["integrity", "--json"], false).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let mismatch = crate::schema::parse_and_check("integrity", &stdout(&out));
    assert_eq!(mismatch["status"], "mismatch", "{mismatch}");
    assert_eq!(mismatch["on_chain"], other.as_str(), "{mismatch}");
    let refused = net.join(&[]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = crate::stderr(&refused);
    assert!(
        err.contains("code integrity check failed") && err.contains("refusing staked roles"),
        "{err}"
    );
    // With --allow-unverified it runs, as an unstaked peer only.
    let mut child = net
        .join(&["--allow-unverified"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.contains("running as an unstaked peer only"),
        "{first}"
    );

    // Governance publishes this build's fingerprint: the check passes.
    let done = net.pass(&["--fingerprint"]).await;
    assert_eq!(done["value"], format!("0x{local}"));
    let integrity = net.json(&["integrity"], false);
    assert_eq!(integrity["status"], "match", "{integrity}");
    // Governance adopts the shipped constitution by its content id.
    let doc = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../protocol/src/constitution/constitution.toml");
    let done = net.pass(&["--constitution", doc.to_str().unwrap()]).await;
    assert_eq!(done["key"], "constitution.current");
    let integrity = net.json(&["integrity"], false);
    let constitution = &integrity["constitution"];
    assert_eq!(
        constitution["on_chain"], constitution["shipped"],
        "{integrity}"
    );
    let past_gate = net.join(&[]).output().unwrap();
    let err = crate::stderr(&past_gate);
    assert!(!err.contains("integrity check failed"), "{err}");
    assert!(
        err.contains("keys/solver.json"),
        "it stops at the missing role key: {err}"
    );
}
