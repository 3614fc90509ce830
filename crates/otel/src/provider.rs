//! `gen_ai.provider.name` from the upstream host.

/// The well-known `gen_ai.provider.name` of an upstream host, if it is one:
///
/// | host | provider |
/// |---|---|
/// | `*.services.ai.azure.com`, `models.inference.ai.azure.com` | `azure.ai.inference` |
/// | `*.openai.azure.com`, `*.cognitiveservices.azure.com` | `azure.ai.openai` |
/// | `api.deepseek.com` | `deepseek` |
/// | `api.openai.com` | `openai` |
///
/// Matching ignores ASCII case, a trailing dot and a `:port`. Other hosts
/// (vLLM, NIM, OpenRouter, ...) have no well-known value: callers use a
/// configured name or the host itself (see [`resolve_provider`]).
pub fn provider_for_host(host: &str) -> Option<&'static str> {
    let host = host.trim();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let under = |suffix: &str| {
        host.strip_suffix(suffix).is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
    };
    if host == "models.inference.ai.azure.com" || under("services.ai.azure.com") {
        Some("azure.ai.inference")
    } else if under("openai.azure.com") || under("cognitiveservices.azure.com") {
        Some("azure.ai.openai")
    } else if host == "api.deepseek.com" {
        Some("deepseek")
    } else if host == "api.openai.com" {
        Some("openai")
    } else {
        None
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The `gen_ai.provider.name` of a request, first found of: the request's
/// own `explicit` name, the `configured` override, the well-known name of
/// `host` ([`provider_for_host`]), the host itself, `_OTHER`.
pub fn resolve_provider(
    explicit: Option<&str>,
    configured: Option<&str>,
    host: Option<&str>,
) -> String {
    if let Some(name) = non_empty(explicit).or(non_empty(configured)) {
        return name.to_owned();
    }
    match non_empty(host) {
        Some(host) => match provider_for_host(host) {
            Some(known) => known.to_owned(),
            None => host.to_ascii_lowercase(),
        },
        None => "_OTHER".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_hosts() {
        let cases = [
            ("myres.services.ai.azure.com", Some("azure.ai.inference")),
            ("models.inference.ai.azure.com", Some("azure.ai.inference")),
            ("MyRes.OpenAI.Azure.com.", Some("azure.ai.openai")),
            ("myres.openai.azure.com:443", Some("azure.ai.openai")),
            ("myres.cognitiveservices.azure.com", Some("azure.ai.openai")),
            ("api.deepseek.com", Some("deepseek")),
            ("api.openai.com", Some("openai")),
            ("openai.azure.com", None),
            ("evilopenai.azure.com", None),
            ("api.openai.com.evil.example", None),
            ("localhost", None),
            ("::1", None),
        ];
        for (host, want) in cases {
            assert_eq!(provider_for_host(host), want, "{host}");
        }
    }

    #[test]
    fn resolution_order() {
        let host = Some("api.deepseek.com");
        assert_eq!(resolve_provider(Some("x"), Some("y"), host), "x");
        assert_eq!(resolve_provider(None, Some("y"), host), "y");
        assert_eq!(resolve_provider(Some(" "), None, host), "deepseek");
        assert_eq!(resolve_provider(None, None, Some("vLLM.local")), "vllm.local");
        assert_eq!(resolve_provider(None, None, None), "_OTHER");
    }
}
