//! The driver's spans: one per instance and one per step attempt (and per undo attempt), with
//! the flow, instance, state, step, attempt and outcome as fields; a part's attempt names its
//! branch or item, and a child step's look at its child and its compensation name the child.

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

/// Records every span and its fields, in order of creation, and every event's fields.
#[derive(Clone, Default)]
struct Spans(
    Arc<Mutex<Vec<(Id, Seen)>>>,
    Arc<Mutex<Vec<BTreeMap<String, String>>>>,
);

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

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.1.lock().unwrap().push(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, (_, fields))) = spans.iter_mut().rev().find(|(span, _)| span == id) {
            values.record(&mut Fields(fields));
        }
    }
}

impl Spans {
    fn events(&self) -> Vec<BTreeMap<String, String>> {
        self.1.lock().unwrap().clone()
    }

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

mod concurrent {
    use workflow_core::prelude::*;

    workflow! {
        /// A child flow with an undo, so it is held for its parent.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub Parcel {
            initial Open   { weight: u32 }
            final   Sealed { weight: u32 }
            seal: Open -> Sealed undo unseal;
        }
    }

    workflow! {
        /// Items weighed one by one, two checks at once, a parcel child, then a step that
        /// fails: the parcel is compensated.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub Consignment {
            initial Listed  { items: Vec<u32> }
            state   Weighed { weight: u32 }
            state   Checked { weight: u32 }
            state   Packed  { weight: u32 }
            final   Sent    { weight: u32 }

            weigh: Listed -> Weighed, each(items, 2, weigh_item: u32), join(weighed);
            check: Weighed -> Checked, parallel(size: bool, customs: bool), join(checked);
            pack:  Checked -> Packed, child(parcel, to_parcel), join(packed);
            send:  Packed -> Sent;
        }
    }

    fn weighed(_: &consignment::Listed, weights: Vec<u32>) -> consignment::Weighed {
        consignment::Weighed {
            weight: weights.into_iter().sum(),
        }
    }

    fn checked(from: &consignment::Weighed, _: bool, _: bool) -> consignment::Checked {
        consignment::Checked {
            weight: from.weight,
        }
    }

    fn to_parcel(from: &consignment::Checked) -> parcel::Open {
        parcel::Open {
            weight: from.weight,
        }
    }

    fn packed(_: &consignment::Checked, child: parcel::State) -> consignment::Packed {
        let parcel::State::Sealed(sealed) = child else {
            unreachable!("its only final state")
        };
        consignment::Packed {
            weight: sealed.weight,
        }
    }

    pub struct Depot;

    impl consignment::Activities for Depot {
        type Error = String;
        async fn weigh_item(
            &self,
            _: &consignment::Listed,
            item: &u32,
            _: &StepCtx,
        ) -> Result<u32, String> {
            Ok(*item)
        }
        async fn size(&self, _: &consignment::Weighed, _: &StepCtx) -> Result<bool, String> {
            Ok(true)
        }
        async fn customs(&self, _: &consignment::Weighed, _: &StepCtx) -> Result<bool, String> {
            Ok(true)
        }
        async fn send(
            &self,
            _: &consignment::Packed,
            _: &StepCtx,
        ) -> Result<consignment::Sent, String> {
            Err("no courier".into())
        }
    }

    impl parcel::Activities for Depot {
        type Error = String;
        async fn seal(&self, from: &parcel::Open, _: &StepCtx) -> Result<parcel::Sealed, String> {
            Ok(parcel::Sealed {
                weight: from.weight,
            })
        }
        async fn unseal(&self, _: &parcel::Sealed, _: &StepCtx) -> Result<(), String> {
            Ok(())
        }
    }
}

#[tokio::test(start_paused = true)]
async fn every_item_branch_and_child_has_a_span() {
    use concurrent::{Depot, consignment, parcel};
    use workflow_core::runtime::Host;

    let spans = Spans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let host = Host::builder()
        .flow(consignment::Flow, Depot)
        .flow(parcel::Flow, Depot)
        .build();
    let crates = host.client::<consignment::Flow>();
    let listed = consignment::Listed {
        items: vec![3, 4, 5],
    };
    let id = crates.start_with_id("crate-1", listed).await.unwrap();
    let outcome = crates.outcome(&id).await.unwrap();
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");

    // One span per attempt of each part: the item's or branch's activity and its index.
    let mut parts: Vec<_> = spans
        .named("step")
        .iter()
        .filter(|f| !field(f, "part").is_empty())
        .map(|f| (field(f, "step").to_string(), field(f, "part").to_string()))
        .collect();
    parts.sort();
    let expected = [
        ("customs", "1"),
        ("size", "0"),
        ("weigh_item", "0"),
        ("weigh_item", "1"),
        ("weigh_item", "2"),
    ];
    assert_eq!(
        parts,
        expected.map(|(step, part)| (step.to_string(), part.to_string()))
    );

    // The child step: one span per look at the child, naming it and what it found.
    let children: Vec<_> = spans
        .named("child")
        .iter()
        .map(|f| {
            assert_eq!(
                (field(f, "flow"), field(f, "step"), field(f, "child_flow")),
                ("Consignment", "pack", "Parcel")
            );
            (
                field(f, "child").to_string(),
                field(f, "outcome").to_string(),
            )
        })
        .collect();
    // Records: started, 3 items, weighed, 2 branches, checked: the step key is `/8/`.
    let child = "crate-1/8/pack".to_string();
    assert_eq!(
        children,
        [
            (child.clone(), "running".to_string()),
            (child.clone(), "held".to_string())
        ]
    );
    // Its compensation is an undo span of the parent's step, naming the child.
    let undos: Vec<_> = spans
        .named("undo")
        .iter()
        .map(|f| {
            (
                field(f, "flow").to_string(),
                field(f, "step").to_string(),
                field(f, "child").to_string(),
                field(f, "outcome").to_string(),
            )
        })
        .collect();
    let undo = |flow: &str, step: &str, child: &str, outcome: &str| {
        (
            flow.to_string(),
            step.to_string(),
            child.to_string(),
            outcome.to_string(),
        )
    };
    assert_eq!(
        undos,
        [
            undo("Consignment", "pack", &child, "compensating"),
            undo("Parcel", "unseal", "", "ok"),
            undo("Consignment", "pack", &child, "ok"),
        ]
    );
    host.shutdown().await;
}

#[test]
fn a_host_that_does_not_run_a_child_flow_says_so_when_it_is_built() {
    use concurrent::{Depot, consignment};
    use workflow_core::runtime::Host;

    let spans = Spans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let _host = Host::builder().flow(consignment::Flow, Depot).build();
    let warnings: Vec<_> = spans
        .events()
        .into_iter()
        .filter(|e| field(e, "child_flow") == "Parcel")
        .map(|e| (field(&e, "flow").to_string(), field(&e, "step").to_string()))
        .collect();
    assert_eq!(
        warnings,
        [("Consignment".to_string(), "pack".to_string())],
        "one warning, naming the step"
    );
    let _both = Host::builder()
        .flow(consignment::Flow, Depot)
        .flow(concurrent::parcel::Flow, Depot)
        .build();
    assert_eq!(
        spans.events().len(),
        1,
        "no warning once the host runs both"
    );
}
