//! The functions, Rust against Node on the emulator: cold starts (spawn → first result, the event
//! already waiting, as on SCF) and warm latency (sequential invocations in alternating blocks), and
//! the Node package's size.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::setup::{Figures, Lang, Setup};
use scf_emulator::emulator::{EmulatorConfig, Outcome, Runner};
use scf_emulator::events::call_function;
use scf_emulator::measure::proc_status_kb;
use wxlogin_devtools::mock_wechat::openid_for;
use wxlogin_devtools::testkit::{APPID, ENV};

pub(super) fn config(function: &str) -> EmulatorConfig {
    EmulatorConfig {
        time_limit: Duration::from_secs(10),
        init_timeout: Duration::from_secs(20),
        namespace: ENV.into(),
        function_name: function.into(),
        ..EmulatorConfig::default()
    }
}

/// The i-th event for `function` and its `/next` headers: a callFunction from the code's own
/// user, vouched for by `userInfo` and by `environ` (wx-server-sdk reads only the latter), with a
/// fresh code each time (a code is single-use).
pub(super) fn event(function: &str, tag: &str, i: usize) -> (Vec<u8>, Vec<(String, String)>) {
    let code = format!("bench{tag}{i}.1");
    let openid = openid_for(APPID, &code);
    let data = match function {
        "getLoginTicket" => json!({ "code": code }),
        // A phone code is single-use too; the mock answers any `phone.` code.
        "getPhoneNumber" => json!({ "code": format!("phone.{code}") }),
        _ => json!({}),
    };
    let environ = format!(
        "WX_OPENID={openid};WX_APPID={APPID};WX_UNIONID=uBench;WX_CONTEXT_KEYS=WX_OPENID,WX_APPID,WX_UNIONID"
    );
    (
        call_function(data, Some(&openid), Some(APPID))
            .to_string()
            .into_bytes(),
        vec![("environ".into(), environ)],
    )
}

/// A right answer: a result with the caller's openid (at the top or in `identity`).
pub(super) fn check(function: &str, lang: Lang, o: &Outcome) -> Result<(), String> {
    let Outcome::Response(b) = o else {
        return Err(format!("{} {function}: {o:?}", lang.name()));
    };
    let v: Value = serde_json::from_slice(b).map_err(|e| format!("not JSON: {e}"))?;
    if function == "getPhoneNumber" {
        return match v["purePhoneNumber"].as_str() {
            Some(_) => Ok(()),
            None => Err(format!("{} {function}: unexpected answer {v}", lang.name())),
        };
    }
    let openid = v
        .get("identity")
        .unwrap_or(&v)
        .get("openid")
        .and_then(Value::as_str);
    let ticket_ok = function != "getLoginTicket" || v["ticket"].as_str().is_some();
    if openid.is_some() && ticket_ok {
        Ok(())
    } else {
        Err(format!("{} {function}: unexpected answer {v}", lang.name()))
    }
}

pub(super) async fn cold_starts(
    s: &Setup,
    function: &str,
    langs: &[Lang],
    figs: &mut [Figures; 2],
) -> Result<(), String> {
    for i in 0..s.cold {
        for (k, lang) in langs.iter().copied().enumerate() {
            let (ev, headers) = event(function, &format!("cold{}", lang.name()), i);
            let (rt, o, took) = Runner::start_cold(
                &s.bootstrap(lang, function),
                &s.env,
                config(function),
                ev,
                headers,
            )
            .await
            .map_err(|f| format!("{} {function}: {}\n{}", lang.name(), f.reason, f.logs))?;
            check(function, lang, &o)?;
            figs[k].cold.push(took);
            rt.shutdown().await;
        }
    }
    Ok(())
}

pub(super) async fn warm(
    s: &Setup,
    function: &str,
    langs: &[Lang],
    figs: &mut [Figures; 2],
) -> Result<(), String> {
    let mut runners = Vec::new();
    for lang in langs.iter().copied() {
        let rt = Runner::start(
            &s.bootstrap(lang, function),
            &s.env,
            config(function),
            false,
        )
        .await
        .map_err(|f| format!("{} {function}: {}\n{}", lang.name(), f.reason, f.logs))?;
        runners.push((lang, rt));
    }
    const BLOCK: usize = 500;
    let mut done = 0;
    while done < s.warm {
        let n = BLOCK.min(s.warm - done);
        for (k, (lang, rt)) in runners.iter().enumerate() {
            for i in done..done + n {
                let (ev, headers) = event(function, &format!("warm{}", lang.name()), i);
                let t = Instant::now();
                let o = rt.invoke_raw(ev, headers).await;
                figs[k].warm.push(t.elapsed());
                check(function, *lang, &o)?;
            }
        }
        done += n;
    }
    for (k, (_, rt)) in runners.into_iter().enumerate() {
        figs[k].peak_rss_kb = proc_status_kb(rt.pid(), "VmHWM").unwrap_or(0);
        rt.shutdown().await;
    }
    Ok(())
}

pub(super) fn node_zip_bytes(node_dir: &Path, function: &str) -> Option<u64> {
    let out =
        std::env::temp_dir().join(format!("bench-node-{function}-{}.zip", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let ok = Command::new("zip")
        .current_dir(node_dir)
        .args(["-q", "-r", "-9"])
        .arg(&out)
        .arg(format!("functions/{function}"))
        .args(["runtime.js", "package.json", "node_modules"])
        .status()
        .ok()?
        .success();
    let size = std::fs::metadata(&out).ok().map(|m| m.len());
    let _ = std::fs::remove_file(&out);
    ok.then_some(size).flatten()
}

/// Cold starts, warm latency and package sizes of `function` in `langs` (Rust first; Node too
/// when the function has a Node reference). The figures are `[Rust, Node]`; Node's stay empty
/// when it is not measured.
pub(super) async fn measure(
    s: &Setup,
    function: &str,
    langs: &[Lang],
) -> Result<[Figures; 2], String> {
    let mut figs = [Figures::default(), Figures::default()];
    eprintln!(
        "bench: {function}: {} cold starts each, interleaved",
        s.cold
    );
    cold_starts(s, function, langs, &mut figs).await?;
    eprintln!(
        "bench: {function}: {} warm invocations each, in alternating blocks",
        s.warm
    );
    warm(s, function, langs, &mut figs).await?;
    figs[0].zip_bytes = std::fs::metadata(s.args.dist.join(format!("{function}.zip")))
        .ok()
        .map(|m| m.len());
    if langs.contains(&Lang::Node) {
        figs[1].zip_bytes = node_zip_bytes(&s.args.node_dir, function);
    }
    Ok(figs)
}
