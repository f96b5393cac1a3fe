//! The driver's spans: one per instance and one per step attempt (and per undo attempt), with
//! the flow, instance, state, step, attempt and outcome as fields.

mod common;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use common::{Fakes, order, placed};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use workflow_core::runtime::{Outcome, Runtime};

/// A span as seen by the test: its name and every field recorded on it.
type Seen = (String, BTreeMap<String, String>);

/// Records every span and its fields, in order of creation.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<(Id, Seen)>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            format!("{value:?}").trim_matches('"').to_string(),
        );
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.0
            .lock()
            .unwrap()
            .push((id.clone(), (attrs.metadata().name().to_string(), fields)));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, (_, fields))) = spans.iter_mut().rev().find(|(span, _)| span == id) {
            values.record(&mut Fields(fields));
        }
    }
}

impl Spans {
    fn named(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, (n, _))| n == name)
            .map(|(_, (_, fields))| fields.clone())
            .collect()
    }
}

fn field<'a>(fields: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    fields.get(name).map_or("", String::as_str)
}

#[tokio::test(start_paused = true)]
async fn every_instance_and_attempt_has_a_span_with_its_fields() {
    let spans = Spans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));

    let runtime = Runtime::<order::Flow, _>::new(Fakes::failing(&["ship"]));
    let id = runtime
        .start_with_id("order-traced", placed(1, 50))
        .await
        .unwrap();
    assert!(matches!(
        runtime.outcome(&id).await.unwrap(),
        Outcome::Failed { .. }
    ));

    let instances = spans.named("instance");
    assert_eq!(instances.len(), 1);
    assert_eq!(field(&instances[0], "flow"), "Order");
    assert_eq!(field(&instances[0], "instance"), "order-traced");

    let steps: Vec<_> = spans
        .named("step")
        .iter()
        .map(|f| {
            assert_eq!(
                (field(f, "flow"), field(f, "instance")),
                ("Order", "order-traced")
            );
            (
                field(f, "step").to_string(),
                field(f, "state").to_string(),
                field(f, "attempt").to_string(),
                field(f, "outcome").to_string(),
            )
        })
        .collect();
    let expected = [
        ("reserve", "Placed", "1", "ok"),
        ("pay", "Reserved", "1", "ok"),
        ("ship", "Paid", "1", "error"),
    ];
    assert_eq!(
        steps,
        expected.map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    );

    let undos: Vec<_> = spans
        .named("undo")
        .iter()
        .map(|f| {
            (
                field(f, "step").to_string(),
                field(f, "outcome").to_string(),
            )
        })
        .collect();
    assert_eq!(
        undos,
        [
            ("refund".to_string(), "ok".to_string()),
            ("release".to_string(), "ok".to_string())
        ]
    );
}
