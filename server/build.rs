//! Copies uPlot from `node_modules` (installed by `cargo xtask` with
//! `npm ci --prefix server`) into OUT_DIR for `include_str!`, so the binary
//! serves it offline; third-party code is never committed. When it is
//! missing, a stand-in tells the host how to install it instead of failing
//! the build.

use std::{env, fs, path::PathBuf};

const FILES: [(&str, &str); 2] = [
    (
        "uPlot.iife.min.js",
        "document.addEventListener('DOMContentLoaded',()=>{const n=document.getElementById('charts-missing');\
         if(n)n.hidden=false;});",
    ),
    (
        "uPlot.min.css",
        "/* uPlot is not installed: run `cargo xtask demo` or `npm ci --prefix server` */",
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    for (name, stand_in) in FILES {
        let source = PathBuf::from("node_modules/uplot/dist").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let text = fs::read_to_string(&source).unwrap_or_else(|_| stand_in.to_owned());
        fs::write(out.join(name), text)?;
    }
    println!("cargo:rerun-if-changed=node_modules/.parterre-installed-lock.json");
    Ok(())
}
