//! Error messages as a user interface: what was found, what was expected, how to fix it.
//!
//! Every error of the macro is built here, so all of them read the same way:
//!
//! ```text
//! error: unknown state `Reservd` in transition `pay`
//!        = expected: a state declared in flow `Order`: Placed, Reserved, Paid
//!        = help: did you mean `Reserved`?
//! ```

use proc_macro2::Span;

/// A spanned error under construction.
pub(crate) struct Diagnostic {
    span: Span,
    found: String,
    expected: Option<String>,
    help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`, saying what was found there.
    pub(crate) fn new(span: Span, found: impl Into<String>) -> Self {
        Self {
            span,
            found: found.into(),
            expected: None,
            help: None,
        }
    }

    /// What the macro expected instead.
    pub(crate) fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// How to fix it.
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The message as rustc will print it.
    fn message(&self) -> String {
        let mut message = self.found.clone();
        if let Some(expected) = &self.expected {
            message.push_str("\n= expected: ");
            message.push_str(expected);
        }
        if let Some(help) = &self.help {
            message.push_str("\n= help: ");
            message.push_str(help);
        }
        message
    }
}

impl From<Diagnostic> for syn::Error {
    fn from(diagnostic: Diagnostic) -> Self {
        syn::Error::new(diagnostic.span, diagnostic.message())
    }
}

/// Collects every error of one expansion, to report them all at once.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records one more error.
    pub(crate) fn push(&mut self, error: impl Into<syn::Error>) {
        self.errors.push(error.into());
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every error as `compile_error!` invocations.
    pub(crate) fn to_compile_errors(&self) -> proc_macro2::TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}

impl Extend<syn::Error> for Errors {
    fn extend<I: IntoIterator<Item = syn::Error>>(&mut self, iter: I) {
        self.errors.extend(iter);
    }
}

/// The candidate closest to `name`, if one is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// `a`, `a and b`, `a, b and c`, each in backticks.
pub(crate) fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(|item| format!("`{item}`")).collect();
    match items.as_slice() {
        [] => "none".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
