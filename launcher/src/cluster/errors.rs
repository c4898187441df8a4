//! API errors turned into launcher errors that say what to do.

use crate::error::LaunchError;

/// A client error on match `id`'s Job: no such match where the API server has no such Job.
pub fn job_error(e: kube::Error, verb: &str, namespace: &str, id: &str) -> LaunchError {
    if is_code(&e, 404) {
        return LaunchError::NotFound {
            id: id.to_owned(),
            place: format!("in namespace {namespace}"),
        };
    }
    api_error(e, verb, "jobs", namespace)
}

/// Turns a client error into a launcher error that says what to do.
pub fn api_error(e: kube::Error, verb: &str, resource: &str, namespace: &str) -> LaunchError {
    match e {
        kube::Error::Api(s) if s.code == 403 => LaunchError::Forbidden {
            verb: verb.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.to_owned(),
            message: s.message.clone(),
        },
        kube::Error::Api(s) if s.code == 422 || s.code == 400 => {
            let causes: Vec<String> = s
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .map(|c| format!("{}: {}", c.field, c.message))
                        .collect()
                })
                .unwrap_or_default();
            LaunchError::Rejected {
                resource: resource.to_owned(),
                message: if causes.is_empty() || s.message.contains(&causes[0]) {
                    s.message.clone()
                } else {
                    format!("{} ({})", s.message, causes.join("; "))
                },
            }
        }
        e if crate::preflight::is_unreachable(&e) => LaunchError::Unreachable {
            source: std::sync::Arc::new(e),
        },
        e => LaunchError::Api {
            during: format!("{verb} {resource} in {namespace}"),
            source: e,
        },
    }
}

pub(super) fn is_code(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// A create refused because the name is taken (409 AlreadyExists), not for a conflict.
pub(super) fn is_already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists")
}
