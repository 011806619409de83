use blazes_annotations::blazes;

#[blazes(CR CW)]
struct Count;

fn main() {}
