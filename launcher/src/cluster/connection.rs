//! Connecting to the API server the way kubectl does.

use kube::Client;

use crate::error::LaunchError;

/// Connects like kubectl: `KUBECONFIG` (or `~/.kube/config`) with its current context or
/// `context`, else the in-cluster service account. Returns the client and the context's
/// namespace (None when it names none, i.e. `default`).
pub async fn connect(context: Option<&str>) -> Result<(Client, Option<String>), LaunchError> {
    let config = match context {
        Some(c) => kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions {
            context: Some(c.to_owned()),
            ..Default::default()
        })
        .await
        .map_err(|e| LaunchError::Config {
            context: Some(c.to_owned()),
            source: e.into(),
        })?,
        None => kube::Config::infer()
            .await
            .map_err(|e| LaunchError::Config {
                context: None,
                source: e.into(),
            })?,
    };
    let ns = (config.default_namespace != "default").then(|| config.default_namespace.clone());
    let client = Client::try_from(config).map_err(|e| LaunchError::Config {
        context: None,
        source: e.into(),
    })?;
    Ok((client, ns))
}
