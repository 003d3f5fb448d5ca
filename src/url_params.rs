//! The app's URL parameters (`?embed&scenario=leader-failover&seed=7&speed=50&autoplay`, and a
//! shared run's `t=TICK,NS&actions=…`, see [`crate::run_link`]), parsed and validated without a browser so they are tested natively. Errors name the
//! parameter; unknown parameters are refused, never ignored.

use crate::scenario::CATALOG;

/// Longest query string accepted (room for a scenario file of about 4 KB, or about 300 recorded
/// actions).
pub const QUERY_BYTES_MAX: usize = 8192;
/// Slowest speed exponent of the slider (10^(exp/100) simulated ms per wall ms).
pub const SPEED_EXP_MIN: i32 = -300;
/// Fastest speed exponent of the slider.
pub const SPEED_EXP_MAX: i32 = 200;
const SPEED_EXP_RANGE: std::ops::RangeInclusive<i32> = SPEED_EXP_MIN..=SPEED_EXP_MAX;

/// What the URL asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewParams {
    /// `embed`: minimal chrome for an iframe (the cluster, the controls and a link to the app).
    pub embed: bool,
    /// `autoplay`: start playing at once.
    pub autoplay: bool,
    /// `scenario=ID`: a built-in scenario's index in [`CATALOG`].
    pub scenario: Option<usize>,
    /// `scenario_json=…`: a whole scenario file (base64url of its JSON): the JSON, validated.
    pub scenario_json: Option<String>,
    /// `seed=N`: run with this seed instead of the scenario's.
    pub seed: Option<u64>,
    /// `speed=E`: the speed slider's exponent.
    pub speed_exp: Option<i32>,
    /// `t=TICK,NS`: the position to open at (events processed plus actions applied, clock).
    pub position: Option<(u64, crate::sim::time::SimTime)>,
    /// `actions=…`: user actions recorded into the run, replayed at their positions.
    pub actions: Vec<crate::timeline::RecordedAction>,
}

/// A parameter the app cannot honour, named.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("URL parameter {param}: {problem}")]
pub struct ParamError {
    /// The parameter.
    pub param: String,
    /// What is wrong with it.
    pub problem: String,
}

fn err(param: &str, problem: impl Into<String>) -> ParamError {
    ParamError { param: param.to_string(), problem: problem.into() }
}

/// Parses `location.search` (with or without the leading `?`).
pub fn parse(query: &str) -> Result<ViewParams, ParamError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    if query.len() > QUERY_BYTES_MAX {
        return Err(err("(query)", format!("{} bytes, more than {QUERY_BYTES_MAX}", query.len())));
    }
    let mut params = ViewParams::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').map_or((pair, None), |(n, v)| (n, Some(v)));
        match (name, value) {
            ("embed", None) => params.embed = true,
            ("autoplay", None) => params.autoplay = true,
            ("embed" | "autoplay", Some(_)) => return Err(err(name, "takes no value")),
            ("scenario", Some(id)) => params.scenario = Some(built_in(id)?),
            ("seed", Some(v)) => {
                params.seed =
                    Some(v.parse().map_err(|_| err("seed", format!("{v:?} is not a whole number in 0..=2^64-1")))?)
            }
            ("speed", Some(v)) => params.speed_exp = Some(speed(v)?),
            ("scenario_json", Some(v)) => params.scenario_json = Some(scenario_json(v)?),
            ("t", Some(v)) => params.position = Some(crate::run_link::parse_position(v).map_err(|e| err("t", e))?),
            ("actions", Some(v)) => {
                params.actions = crate::run_link::parse_actions(v).map_err(|e| err("actions", e))?
            }
            ("scenario" | "scenario_json" | "seed" | "speed" | "t" | "actions", None) => {
                return Err(err(name, "needs a value"))
            }
            _ => {
                return Err(err(
                    name,
                    "unknown (known: embed, autoplay, scenario, scenario_json, seed, speed, t, actions)",
                ))
            }
        }
    }
    Ok(params)
}

fn built_in(id: &str) -> Result<usize, ParamError> {
    CATALOG.iter().position(|(known, _)| *known == id).ok_or_else(|| {
        let known: Vec<&str> = CATALOG.iter().map(|(k, _)| *k).collect();
        err("scenario", format!("{id:?} is not a built-in scenario (one of {})", known.join(", ")))
    })
}

fn scenario_json(v: &str) -> Result<String, ParamError> {
    let bytes = crate::run_link::base64url_decode(v).map_err(|e| err("scenario_json", e))?;
    let text = String::from_utf8(bytes).map_err(|_| err("scenario_json", "not UTF-8 once decoded"))?;
    crate::scenario::parse_json(&text).map_err(|e| err("scenario_json", e.to_string()))?;
    Ok(text)
}

fn speed(v: &str) -> Result<i32, ParamError> {
    let exp: i32 = v.parse().map_err(|_| err("speed", format!("{v:?} is not a whole number")))?;
    if !SPEED_EXP_RANGE.contains(&exp) {
        return Err(err("speed", format!("{exp} is outside {}..={}", SPEED_EXP_RANGE.start(), SPEED_EXP_RANGE.end())));
    }
    Ok(exp)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn an_embed_url_round_trips_its_parts() {
        let p = parse("?embed&scenario=leader-failover&seed=7&speed=50&autoplay").unwrap();
        let index = CATALOG.iter().position(|(id, _)| *id == "leader-failover").unwrap();
        let want = ViewParams {
            embed: true,
            autoplay: true,
            scenario: Some(index),
            seed: Some(7),
            speed_exp: Some(50),
            ..ViewParams::default()
        };
        assert_eq!(p, want);
        assert_eq!(parse("").unwrap(), ViewParams::default());
    }

    #[test]
    fn bad_parameters_are_named_not_ignored() {
        let cases = [
            ("scenario=nope", "URL parameter scenario: \"nope\" is not a built-in scenario"),
            ("seed=-1", "URL parameter seed: \"-1\" is not a whole number"),
            ("speed=900", "URL parameter speed: 900 is outside -300..=200"),
            ("speed", "URL parameter speed: needs a value"),
            ("embed=1", "URL parameter embed: takes no value"),
            ("theme=dark", "URL parameter theme: unknown"),
        ];
        for (query, start) in cases {
            let e = parse(query).unwrap_err().to_string();
            assert!(e.starts_with(start), "{query}: {e}");
        }
        assert!(parse(&"a".repeat(QUERY_BYTES_MAX + 1)).unwrap_err().to_string().contains("more than 8192"));
        let bad = crate::run_link::base64url_encode(br#"{"name": "x", "brokers": 1}"#);
        let e = parse(&format!("scenario_json={bad}")).unwrap_err().to_string();
        assert_eq!(e, "URL parameter scenario_json: duration_ms: required");
        assert!(parse("scenario_json=%%").unwrap_err().to_string().contains("is not base64url"));
        let e = parse("scenario=hello&actions=1,2,crash,2,power").unwrap_err().to_string();
        assert!(e.starts_with("URL parameter actions: item 0: crash kind"), "{e}");
        assert!(parse("t=5").unwrap_err().to_string().starts_with("URL parameter t: expected TICK,NS"));
    }

    #[test]
    fn a_shared_run_link_parses_back() {
        use crate::sim::scenario::Action;
        use crate::sim::time::SimTime;
        let link = crate::run_link::RunLink {
            scenario_json: None,
            scenario: "hello".into(),
            seed: Some(3),
            speed_exp: Some(-20),
            actions: vec![crate::timeline::RecordedAction {
                steps: 40,
                at: SimTime::from_ms(12),
                action: Action::RestartBroker { broker: 2 },
            }],
            position: Some((99, SimTime::from_ms(30))),
        };
        let p = parse(&link.to_query()).unwrap();
        assert_eq!((p.seed, p.speed_exp, p.position), (Some(3), Some(-20), link.position));
        assert_eq!(p.actions, link.actions);
        assert_eq!(CATALOG[p.scenario.unwrap()].0, "hello");
    }
}

#[cfg(test)]
mod scenario_json_tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_scenario_file_travels_whole_in_the_link() {
        let json = r#"{"name":"Mine","duration_ms":3000,"brokers":1,"topics":[{"name":"t","partitions":2,"replication_factor":1}]}"#;
        let link = crate::run_link::RunLink { scenario_json: Some(json.into()), seed: Some(4), ..Default::default() };
        let query = link.to_query();
        assert!(query.starts_with("?scenario_json=eyJuYW1lIjoiTWluZSIs"), "{query}");
        let p = parse(&query).unwrap();
        let s = crate::scenario::parse_json(&p.scenario_json.unwrap()).unwrap();
        assert_eq!((s.name.as_str(), s.duration_ms, s.topics[0].partitions, p.seed), ("Mine", 3000, 2, Some(4)));
        assert_eq!(p.scenario, None);
    }
}
