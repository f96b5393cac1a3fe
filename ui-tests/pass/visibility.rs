//! A flow's items reach exactly as far as its module: `pub`, `pub(crate)`, private, and
//! restricted to a parent.
#![deny(unreachable_pub, private_interfaces, private_bounds, dead_code)]

pub mod outer {
    use workflow_core::workflow;

    workflow! {
        /// Public.
        pub Open {
            initial A {}
            final B {}
            go: A -> B;
        }
    }

    workflow! {
        /// Crate-wide.
        pub(crate) Crated {
            initial A {}
            final B {}
            go: A -> B;
        }
    }

    workflow! {
        /// Private to `outer`.
        Private {
            initial A { n: u8 }
            final B {}
            go: A -> B;
        }
    }

    pub mod inner {
        use workflow_core::workflow;

        workflow! {
            /// Visible in `outer`.
            pub(super) Parental {
                initial A {}
                final B {}
                go: A -> B;
            }
        }
    }

    pub fn names() -> [&'static str; 4] {
        let _ = private::A { n: 1 }.n;
        let _ = inner::parental::A {};
        [open::DEFINITION.name(), crated::DEFINITION.name(), private::DEFINITION.name(), inner::parental::DEFINITION.name()]
    }
}

fn main() {
    let _ = outer::open::A {};
    let _ = outer::crated::A {};
    assert_eq!(outer::names(), ["Open", "Crated", "Private", "Parental"]);
}
