//! Wire formats read and written by sessions and checks, as pure codecs: the PROXY
//! protocol header and the MQTT CONNECT packet that `stick on` inspects.

pub mod mqtt;
pub mod proxy_protocol;
pub mod tls_hello;
