use blazes_annotations::blazes;

#[blazes]
struct Count;

fn main() {}
