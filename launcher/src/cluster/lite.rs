//! Partial views of Jobs and Pods for the shared watches and for responses the launcher only
//! needs the metadata of: deserialising a full Job or Pod (its pod template and spec) for every
//! watch event is most of a watch's cost, and almost none of it is needed to follow a match.
//! The exceptions are the images: the pod's status says which image the runner container ran
//! (`containerStatuses[].image` and `imageID`, kept in the full `PodStatus`), and the Job's
//! template says which one was submitted, for a match that never got as far as a pod. Unknown
//! fields are ignored here on purpose: these read the API server's output, not user input.

use std::borrow::Cow;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::batch::v1::JobStatus;
use k8s_openapi::api::core::v1::PodStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct JobSpec {
    #[serde(default)]
    pub suspend: Option<bool>,
    #[serde(default)]
    pub template: Option<PodTemplate>,
}

/// A Job's pod template, down to its containers' names and images.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodTemplate {
    #[serde(default)]
    pub spec: Option<PodSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: Option<String>,
}

/// A Job's metadata, `spec.suspend`, its template's container images, and status.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Job {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Option<JobSpec>,
    #[serde(default)]
    pub status: Option<JobStatus>,
}

/// A Pod's metadata and status (with the images its containers ran).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pod {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub status: Option<PodStatus>,
}

/// Any object's metadata (what a create returns that the launcher needs).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Meta {
    pub metadata: ObjectMeta,
}

macro_rules! resource {
    ($t:ty, $kind:literal, $group:literal, $version:literal, $plural:literal) => {
        impl kube::Resource for $t {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;
            fn kind(_: &()) -> Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}
resource!(Job, "Job", "batch", "v1", "jobs");
resource!(Pod, "Pod", "", "v1", "pods");
