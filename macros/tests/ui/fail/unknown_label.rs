use blazes_annotations::blazes;

#[blazes(CX)]
struct Count;

fn main() {}
