//! Placeholder while the simulator is written.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct SimOptions {
    #[arg(long, default_value_t = 50_000)]
    pub events: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}
pub struct SimHandle;
impl SimHandle {
    pub fn addr(&self) -> std::net::SocketAddr { ([127, 0, 0, 1], 0).into() }
    pub fn base_url(&self) -> String { String::new() }
    pub fn token_url(&self) -> String { String::new() }
    pub async fn shutdown(self) {}
}
pub async fn start(_o: SimOptions) -> Result<SimHandle, std::io::Error> { Err(std::io::Error::other("x")) }
