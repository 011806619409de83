use blazes_annotations::blazes;

#[blazes(path(click -> response, XW))]
struct Report;

fn main() {}
