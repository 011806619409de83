use blazes_annotations::blazes;

#[blazes(path(click response, CW))]
struct Report;

fn main() {}
