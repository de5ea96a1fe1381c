//! `#[testkit::test]`: registers a function with the testkit harness (see the `testkit` crate),
//! naming the services it needs so the harness can report it as ignored, with the reason, when
//! one is missing.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, Token};

/// `#[testkit::test]` on a `fn` or `async fn` with no arguments. Options, all optional:
/// `needs = postgres` or `needs = [postgres, nats]` (the services: `postgres`, `nats`,
/// `chromium`, `python_tools`, `prometheus`), and tokio's own `flavor = "multi_thread"` and
/// `worker_threads = N` for an `async fn` (a current-thread runtime otherwise, as with
/// `#[tokio::test]`).
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let function: ItemFn = syn::parse2(item)?;
    let options = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut needs = Vec::new();
    let mut multi_thread = false;
    let mut workers: Option<syn::LitInt> = None;
    for option in options {
        let Meta::NameValue(nv) = option else {
            return Err(syn::Error::new_spanned(option, "expected `name = value`"));
        };
        let key = nv
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "needs" => needs = services(&nv.value)?,
            "flavor" => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) if s.value() == "multi_thread" => {
                    multi_thread = true;
                }
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) if s.value() == "current_thread" => {}
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "flavor is \"multi_thread\" or \"current_thread\"",
                    ));
                }
            },
            "worker_threads" => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(n), ..
                }) => workers = Some(n.clone()),
                other => return Err(syn::Error::new_spanned(other, "a number of threads")),
            },
            _ => {
                return Err(syn::Error::new_spanned(
                    nv.path,
                    "unknown option: needs, flavor or worker_threads",
                ));
            }
        }
    }
    if !function.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &function.sig.inputs,
            "a test takes no arguments",
        ));
    }
    let name = &function.sig.ident;
    let run = if function.sig.asyncness.is_some() {
        let runtime = match (multi_thread, workers) {
            (false, None) => quote!(::testkit::Runtime::CurrentThread),
            (false, Some(n)) => {
                return Err(syn::Error::new_spanned(
                    n,
                    "worker_threads needs flavor = \"multi_thread\"",
                ));
            }
            (true, None) => quote!(::testkit::Runtime::MultiThread(None)),
            (true, Some(n)) => quote!(::testkit::Runtime::MultiThread(Some(#n))),
        };
        quote!(|| #runtime.block_on(#name()))
    } else if multi_thread || workers.is_some() {
        return Err(syn::Error::new(
            Span::call_site(),
            "flavor and worker_threads are for an async fn",
        ));
    } else {
        quote!(#name)
    };
    Ok(quote! {
        #function

        ::testkit::inventory::submit! {
            ::testkit::Test {
                path: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                needs: &[#(#needs),*],
                run: #run,
            }
        }
    })
}

/// `postgres` or `[postgres, nats]` as paths to `testkit::Service` variants.
fn services(value: &Expr) -> syn::Result<Vec<proc_macro2::TokenStream>> {
    let names: Vec<&Expr> = match value {
        Expr::Array(a) => a.elems.iter().collect(),
        one => vec![one],
    };
    names
        .into_iter()
        .map(|name| {
            let ident = match name {
                Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
                _ => None,
            };
            let variant = match ident.as_deref() {
                Some("postgres") => quote!(Postgres),
                Some("nats") => quote!(Nats),
                Some("chromium") => quote!(Chromium),
                Some("python_tools") => quote!(PythonTools),
                Some("prometheus") => quote!(Prometheus),
                _ => {
                    return Err(syn::Error::new_spanned(
                        name,
                        "a service: postgres, nats, chromium, python_tools or prometheus",
                    ));
                }
            };
            Ok(quote!(::testkit::Service::#variant))
        })
        .collect()
}
