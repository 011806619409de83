use blazes_annotations::blazes;

struct Count;

#[blazes(CR)]
impl Count {}

fn main() {}
