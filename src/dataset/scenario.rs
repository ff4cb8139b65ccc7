//! The scenario grammar: token-length distributions of requests.
//!
//! `D(in,out)`, `N(mean_in,std_in)/(mean_out,std_out)`, `U(min_in,max_in)/(min_out,max_out)`,
//! `I(width,height[,count])`, `E(tokens)`, `R(doc_tokens,query_tokens)`.

use serde::{Deserialize, Serialize};

/// A parsed scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Workload {
    /// `D(in,out)`: fixed lengths.
    Deterministic { input: u32, output: u32 },
    /// `N(mi,si)/(mo,so)`: normal lengths, truncated toward zero, at least 1.
    Normal {
        input_mean: f64,
        input_std: f64,
        output_mean: f64,
        output_std: f64,
    },
    /// `U(a,b)/(c,d)`: uniform lengths, inclusive bounds.
    Uniform {
        input_min: u32,
        input_max: u32,
        output_min: u32,
        output_max: u32,
    },
    /// `I(w,h[,n])`: `n` images of w×h with a short text.
    Image { width: u32, height: u32, count: u32 },
    /// `E(tokens)`: embedding inputs of `tokens` tokens.
    Embedding { tokens: u32 },
    /// `R(doc_tokens,query_tokens)`: rerank a query against documents.
    Rerank {
        doc_tokens: u32,
        query_tokens: u32,
        documents: u32,
    },
}

impl Workload {
    /// The canonical string form.
    #[must_use]
    pub fn to_spec_string(&self) -> String {
        match self {
            Workload::Deterministic { input, output } => format!("D({input},{output})"),
            Workload::Normal {
                input_mean,
                input_std,
                output_mean,
                output_std,
            } => {
                format!("N({input_mean},{input_std})/({output_mean},{output_std})")
            }
            Workload::Uniform {
                input_min,
                input_max,
                output_min,
                output_max,
            } => {
                format!("U({input_min},{input_max})/({output_min},{output_max})")
            }
            Workload::Image {
                width,
                height,
                count,
            } => format!("I({width},{height},{count})"),
            Workload::Embedding { tokens } => format!("E({tokens})"),
            Workload::Rerank {
                doc_tokens,
                query_tokens,
                ..
            } => format!("R({doc_tokens},{query_tokens})"),
        }
    }
}
