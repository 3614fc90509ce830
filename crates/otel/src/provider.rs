//! `gen_ai.provider.name` from the upstream host and the wire format.

use thinktee_pipeline::Format;

/// The well-known `gen_ai.provider.name` of an upstream host, if it is one:
///
/// | host | provider |
/// |---|---|
/// | `*.services.ai.azure.com`, `models.inference.ai.azure.com` | `azure.ai.inference` |
/// | `*.openai.azure.com`, `*.cognitiveservices.azure.com` | `azure.ai.openai` |
/// | `api.deepseek.com` | `deepseek` |
/// | `api.openai.com` | `openai` |
/// | `api.anthropic.com` | `anthropic` |
/// | `generativelanguage.googleapis.com` | `gcp.gemini` |
/// | `aiplatform.googleapis.com`, `*-aiplatform.googleapis.com` | `gcp.vertex_ai` |
///
/// Matching ignores ASCII case, a trailing dot and a `:port`. Other hosts
/// (vLLM, NIM, OpenRouter, Ollama, ...) have no well-known value: callers
/// use a configured name, the format's provider or the host itself (see
/// [`resolve_provider`]).
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
    let regional = |name: &str| {
        host.strip_suffix(name)
            .and_then(|rest| rest.strip_suffix('-'))
            .is_some_and(|region| !region.is_empty() && !region.contains('.'))
    };
    if host == "models.inference.ai.azure.com" || under("services.ai.azure.com") {
        Some("azure.ai.inference")
    } else if under("openai.azure.com") || under("cognitiveservices.azure.com") {
        Some("azure.ai.openai")
    } else if host == "api.deepseek.com" {
        Some("deepseek")
    } else if host == "api.openai.com" {
        Some("openai")
    } else if host == "api.anthropic.com" {
        Some("anthropic")
    } else if host == "generativelanguage.googleapis.com" {
        Some("gcp.gemini")
    } else if host == "aiplatform.googleapis.com" || regional("aiplatform.googleapis.com") {
        Some("gcp.vertex_ai")
    } else {
        None
    }
}

/// The `gen_ai.provider.name` a wire format implies when the host is not
/// a well-known one: the API's owner, whoever serves it (`openai` for
/// Responses, `anthropic` for Messages, `gcp.gemini` for Gemini, `ollama`
/// for Ollama's native API). `None` for chat completions, which every
/// OpenAI-compatible server speaks: the host names those better.
pub fn provider_for_format(format: Format) -> Option<&'static str> {
    match format {
        Format::Responses => Some("openai"),
        Format::Messages => Some("anthropic"),
        Format::Gemini => Some("gcp.gemini"),
        Format::Ollama => Some("ollama"),
        _ => None,
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The `gen_ai.provider.name` of a request whose response is in `format`,
/// first found of: the request's own `explicit` name, the `configured`
/// override (`--provider-name`), the well-known name of `host`
/// ([`provider_for_host`]: an Azure host says Azure whatever the format),
/// the format's ([`provider_for_format`]), the host itself, `_OTHER`.
pub fn resolve_provider(
    explicit: Option<&str>,
    configured: Option<&str>,
    host: Option<&str>,
    format: Format,
) -> String {
    if let Some(name) = non_empty(explicit).or(non_empty(configured)) {
        return name.to_owned();
    }
    let host = non_empty(host);
    if let Some(known) = host.and_then(provider_for_host).or(provider_for_format(format)) {
        return known.to_owned();
    }
    match host {
        Some(host) => host.to_ascii_lowercase(),
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
            ("api.anthropic.com", Some("anthropic")),
            ("generativelanguage.googleapis.com:443", Some("gcp.gemini")),
            ("us-central1-aiplatform.googleapis.com", Some("gcp.vertex_ai")),
            ("aiplatform.googleapis.com", Some("gcp.vertex_ai")),
            ("-aiplatform.googleapis.com", None),
            ("evil.us-aiplatform.googleapis.com", None),
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
        let chat = Format::ChatCompletions;
        assert_eq!(resolve_provider(Some("x"), Some("y"), host, chat), "x");
        assert_eq!(resolve_provider(None, Some("y"), host, chat), "y");
        assert_eq!(resolve_provider(Some(" "), None, host, chat), "deepseek");
        assert_eq!(resolve_provider(None, None, Some("vLLM.local"), chat), "vllm.local");
        assert_eq!(resolve_provider(None, None, None, chat), "_OTHER");
    }

    #[test]
    fn the_format_names_the_provider_of_hosts_nobody_knows() {
        // (host, format) -> provider, by the conventions' well-known
        // values (FORMATS.md §3) and `ollama` for Ollama's own API.
        let local = Some("127.0.0.1");
        let azure = Some("myres.openai.azure.com");
        let cases = [
            (local, Format::Responses, "openai"),
            (local, Format::Messages, "anthropic"),
            (local, Format::Gemini, "gcp.gemini"),
            (local, Format::Ollama, "ollama"),
            (local, Format::ChatCompletions, "127.0.0.1"),
            (None, Format::Messages, "anthropic"),
            // The host says Azure: it wins over the format.
            (azure, Format::Responses, "azure.ai.openai"),
            (Some("us-east5-aiplatform.googleapis.com"), Format::Gemini, "gcp.vertex_ai"),
            (Some("api.anthropic.com"), Format::Messages, "anthropic"),
        ];
        for (host, format, want) in cases {
            assert_eq!(resolve_provider(None, None, host, format), want, "{host:?} {format:?}");
        }
        // --provider-name still wins.
        assert_eq!(resolve_provider(None, Some("acme"), local, Format::Gemini), "acme");
    }
}
