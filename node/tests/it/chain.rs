//! `autonet key`, `chain deploy|info`, `stake|unstake|claim|balance` against a local anvil.

use std::path::Path;

use autonet_contracts::anvil::{AnvilProcess, default_binary};

use crate::{autonet, run_fails, run_ok, stdout};

fn with_password<'a>(
    cmd: &'a mut std::process::Command,
    file: &Path,
) -> &'a mut std::process::Command {
    cmd.arg("--password-file").arg(file)
}

#[test]
fn keystore_deploy_info_stake_unstake_balance_claim() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let anvil = rt
        .block_on(AnvilProcess::spawn(&default_binary(), None, None))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let pw = data.join("pw");
    std::fs::write(&pw, "correct horse\n").unwrap();

    // Keys: create, show, refuse to overwrite, wrong password.
    let created = stdout(&run_ok(with_password(
        autonet(data).args(["key", "create", "--role", "deployer"]),
        &pw,
    )));
    let deployer: alloy::primitives::Address =
        created.split_whitespace().nth(3).unwrap().parse().unwrap();
    let shown = stdout(&run_ok(with_password(
        autonet(data).args(["key", "show", "--role", "deployer"]),
        &pw,
    )));
    assert!(shown.contains(&deployer.to_string()), "{shown}");
    run_fails(
        with_password(
            autonet(data).args(["key", "create", "--role", "deployer"]),
            &pw,
        ),
        "refusing to overwrite",
    );
    let bad = data.join("bad");
    std::fs::write(&bad, "wrong\n").unwrap();
    run_fails(
        with_password(
            autonet(data).args(["key", "show", "--role", "deployer"]),
            &bad,
        ),
        "cannot decrypt",
    );

    // Deploy, then discover from the Governor.
    rt.block_on(anvil.fund(&[deployer])).unwrap();
    let url = anvil.url.clone();
    let out = stdout(&run_ok(with_password(
        autonet(data).args(["chain", "deploy", "--rpc-url", &url, "--json"]),
        &pw,
    )));
    let deployed = crate::schema::parse_and_check("chain-deploy", &out);
    let governor = deployed["governor"].as_str().unwrap().to_owned();
    let info = stdout(&run_ok(autonet(data).args([
        "chain",
        "info",
        "--rpc-url",
        &url,
        "--governor",
        &governor,
    ])));
    for name in [
        "ATNToken",
        "ParticipantStaking",
        "TaskContract",
        "ResultsRewards",
        "ModelShardRegistry",
        "RPB",
    ] {
        assert!(info.contains(name), "{info}");
    }
    run_fails(
        autonet(data).args([
            "chain",
            "info",
            "--rpc-url",
            &url,
            "--governor",
            &governor,
            "--chain-id",
            "1",
        ]),
        "chain id mismatch",
    );

    // The deployer holds all ATN; it stakes as... nothing: the deployer key is not a role.
    crate::run_usage_error(
        with_password(
            autonet(data).args([
                "stake",
                "--rpc-url",
                &url,
                "--governor",
                &governor,
                "--role",
                "deployer",
            ]),
            &pw,
        ),
        "invalid value 'deployer' for '--role <ROLE>'",
    );

    // A solver key funded by the deployer stakes, unbonds, and checks its balance.
    let made = stdout(&run_ok(with_password(
        autonet(data).args(["key", "create", "--role", "solver"]),
        &pw,
    )));
    let solver: alloy::primitives::Address =
        made.split_whitespace().nth(3).unwrap().parse().unwrap();
    rt.block_on(async {
        use autonet_contracts::Chain;
        anvil.fund(&[solver]).await.unwrap();
        let c = crate::deployer_suite(data, "correct horse", &url, &governor).await;
        c.transfer_atn(
            deployer,
            solver,
            autonet_contracts::ATN * alloy::primitives::U256::from(80),
        )
        .await
        .unwrap();
    });
    let args = [
        "--rpc-url",
        url.as_str(),
        "--governor",
        governor.as_str(),
        "--role",
        "solver",
    ];
    // `autonet SUBCOMMAND` as the solver against the deployed suite.
    let solver_cmd = |subcommand: &str| {
        let mut cmd = autonet(data);
        with_password(cmd.arg(subcommand).args(args), &pw);
        cmd
    };
    run_fails(
        solver_cmd("stake").args(["--amount", "10"]),
        "below the solver minimum",
    );
    // `stake` prints the balance, as `balance` does, in the same schema.
    let staked = stdout(&run_ok(solver_cmd("stake").arg("--json")));
    let staked = crate::schema::parse_and_check("balance", &staked);
    let atn = |n: u64| {
        format!(
            "{:#x}",
            autonet_contracts::ATN * alloy::primitives::U256::from(n)
        )
    };
    assert_eq!(staked["stake_wei"], atn(50), "{staked}");
    assert_eq!(staked["balance_wei"], atn(30), "{staked}");
    // A second stake reverts on chain (AlreadyStaked): the error is followed by what to do
    // (#23: known reverts map to a sentence and the command that fixes it), exit status 1.
    let again = solver_cmd("stake").output().unwrap();
    let err = crate::stderr(&again);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with("error: stake failed"))
            && err.lines().any(|l| l.starts_with("hint: ")
                && l.contains("is already staked as solver")
                && l.contains("`autonet unstake` first")),
        "{err}"
    );
    let unbond = stdout(&run_ok(solver_cmd("unstake").arg("--json")));
    let unbond = crate::schema::parse_and_check("unstake", &unbond);
    assert_eq!(unbond["action"], "unbonding", "{unbond}");
    run_fails(&mut solver_cmd("unstake"), "unbonding until block");
    run_fails(&mut solver_cmd("claim"), "nothing to claim");
    rt.block_on(async {
        use alloy::providers::Provider;
        let p = alloy::providers::ProviderBuilder::new().connect_http(url.parse().unwrap());
        let _: serde_json::Value = p
            // Past the default unbonding period (which outlasts any task).
            .raw_request("anvil_mine".into(), (alloy::primitives::U256::from(110),))
            .await
            .unwrap();
    });
    let withdrawn = stdout(&run_ok(&mut solver_cmd("unstake")));
    assert!(withdrawn.contains("withdrew 50.000000 ATN"), "{withdrawn}");
    let balance = stdout(&run_ok(&mut solver_cmd("balance")));
    assert!(balance.contains("balance:   80.000000 ATN"), "{balance}");
    // The same results for scripts (#23: --json on every command that reports something).
    let balance = crate::schema::parse_and_check(
        "balance",
        &stdout(&run_ok(solver_cmd("balance").arg("--json"))),
    );
    assert_eq!(balance["address"], solver.to_string(), "{balance}");
    assert_eq!(
        balance["balance_wei"],
        format!(
            "{:#x}",
            autonet_contracts::ATN * alloy::primitives::U256::from(80)
        ),
        "{balance}"
    );
    assert_eq!(balance["stake_wei"], "0x0", "{balance}");
    let key = crate::schema::parse_and_check(
        "key",
        &stdout(&run_ok(with_password(
            autonet(data).args(["key", "show", "--role", "solver", "--json"]),
            &pw,
        ))),
    );
    assert_eq!(key["address"], solver.to_string(), "{key}");
    let info = crate::schema::parse_and_check(
        "chain-info",
        &stdout(&run_ok(autonet(data).args([
            "chain",
            "info",
            "--json",
            "--rpc-url",
            &url,
            "--governor",
            &governor,
        ]))),
    );
    assert_eq!(
        info["governor"]["address"].as_str().map(str::to_lowercase),
        Some(governor.to_lowercase()),
        "{info}"
    );
    drop(anvil);
}
