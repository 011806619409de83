//! `#[blazes(...)]`: Blazes annotations on Rust operators, checked by the compiler.
//!
//! Use it through `blazes-annotations`, which re-exports it:
//!
//! ```ignore
//! use blazes_annotations::blazes;
//!
//! #[blazes(CR)]
//! fn split(line: &str) -> impl Iterator<Item = &str> { line.split(' ') }
//!
//! #[blazes(OW(word, batch))]
//! struct Count { /* … */ }
//! ```
//!
//! The item is emitted unchanged, plus its annotations as constants (zero runtime cost): a type
//! gets `impl blazes_annotations::Operator` with `const BLAZES: OperatorSpec`, a function gets a
//! companion constant named after it (`split` → `SPLIT_BLAZES`). Every mistake is a compile error
//! at the offending token. The grammar is in the `blazes-attr` crate, which the `blazes` analyzer
//! shares to read the same attributes without compiling.

use blazes_attr::{Ann, Attr, Gate, Kind};
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};

/// Annotates an operator (a function, a struct or an enum) for the Blazes coordination
/// analysis: `CR`, `CW`, `OR(g…)`, `OW(g…)`, `OR(*)`, `path(in -> out, ANN)` (repeatable),
/// `replicated`, `seal(k…)` (every output is sealed on `k`), `name = "…"`.
#[proc_macro_attribute]
pub fn blazes(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = Tokens::from(item);
    match expand(Tokens::from(args), item.clone()) {
        Ok(out) => out.into(),
        Err(e) => {
            // Keep the item, so that one annotation mistake does not cascade into errors about
            // a missing function or type.
            let mut out = item;
            out.extend(e.to_compile_error());
            out.into()
        }
    }
}

fn expand(args: Tokens, item: Tokens) -> syn::Result<Tokens> {
    let parsed: syn::Item = syn::parse2(item.clone())?;
    let attr = blazes_attr::parse(args, Span::call_site())?;
    match &parsed {
        syn::Item::Fn(f) => {
            let name = f.sig.ident.to_string();
            let bare = name.trim_start_matches("r#");
            let konst = format_ident!("{}_BLAZES", bare.to_uppercase());
            let spec = spec_tokens(&attr, bare);
            let vis = &f.vis;
            let doc = format!("The `#[blazes]` annotations of [`{bare}`].");
            Ok(quote! {
                #item
                #[doc = #doc]
                #[allow(dead_code)]
                #vis const #konst: ::blazes_annotations::OperatorSpec = #spec;
            })
        }
        syn::Item::Struct(syn::ItemStruct {
            ident, generics, ..
        })
        | syn::Item::Enum(syn::ItemEnum {
            ident, generics, ..
        }) => {
            let default = blazes_attr::snake_case(ident.to_string().trim_start_matches("r#"));
            let spec = spec_tokens(&attr, &default);
            let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
            Ok(quote! {
                #item
                impl #impl_generics ::blazes_annotations::Operator for #ident #ty_generics
                    #where_clause
                {
                    const BLAZES: ::blazes_annotations::OperatorSpec = #spec;
                }
            })
        }
        other => Err(syn::Error::new_spanned(
            item_head(other),
            "`#[blazes]` goes on a function, a struct or an enum (an operator)",
        )),
    }
}

/// The tokens to point at for an unsupported item: its keyword, not its whole body.
fn item_head(item: &syn::Item) -> Tokens {
    match item {
        syn::Item::Impl(i) => {
            let tok = &i.impl_token;
            quote!(#tok)
        }
        syn::Item::Trait(t) => {
            let tok = &t.trait_token;
            quote!(#tok)
        }
        syn::Item::Mod(m) => {
            let tok = &m.mod_token;
            quote!(#tok)
        }
        syn::Item::Const(c) => {
            let tok = &c.const_token;
            quote!(#tok)
        }
        syn::Item::Static(s) => {
            let tok = &s.static_token;
            quote!(#tok)
        }
        syn::Item::Type(t) => {
            let tok = &t.type_token;
            quote!(#tok)
        }
        other => quote!(#other),
    }
}

fn spec_tokens(attr: &Attr, default_name: &str) -> Tokens {
    let name = attr
        .name
        .as_ref()
        .map_or_else(|| default_name.to_string(), |n| n.value.clone());
    let label = match &attr.label {
        Some(a) => {
            let a = ann_tokens(&a.value);
            quote!(::core::option::Option::Some(#a))
        }
        None => quote!(::core::option::Option::None),
    };
    let paths = attr.paths.iter().map(|p| {
        let from = &p.value.from.value;
        let to = &p.value.to.value;
        let ann = ann_tokens(&p.value.ann.value);
        quote! {
            ::blazes_annotations::PathSpec { from: #from, to: #to, annotation: #ann }
        }
    });
    let replicated = attr.replicated.is_some();
    let seal = match &attr.seal {
        Some(s) => {
            let keys = s.value.iter().map(|k| &k.value);
            quote!(::core::option::Option::Some(&[#(#keys),*]))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        ::blazes_annotations::OperatorSpec {
            name: #name,
            label: #label,
            paths: &[#(#paths),*],
            replicated: #replicated,
            seal: #seal,
        }
    }
}

fn ann_tokens(a: &Ann) -> Tokens {
    let gate = match &a.gate {
        Gate::Any => quote!(::blazes_annotations::GateSpec::Any),
        Gate::Fields(f) => {
            let names = f.iter().map(|s| &s.value);
            quote!(::blazes_annotations::GateSpec::Fields(&[#(#names),*]))
        }
    };
    match a.kind {
        Kind::CR => quote!(::blazes_annotations::AnnotationSpec::CR),
        Kind::CW => quote!(::blazes_annotations::AnnotationSpec::CW),
        Kind::OR => quote!(::blazes_annotations::AnnotationSpec::OR(#gate)),
        Kind::OW => quote!(::blazes_annotations::AnnotationSpec::OW(#gate)),
    }
}
