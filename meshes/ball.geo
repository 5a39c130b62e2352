// Ball of radius 5 centred at the origin, first-order tetrahedra of size about 0.5.
// Regenerate the .msh with `python meshes/generate.py`.
SetFactory("OpenCASCADE");
R = 5.0;
h = 0.5;

Sphere(1) = {0, 0, 0, R};

Mesh.MeshSizeMin = h;
Mesh.MeshSizeMax = h;
Mesh.MeshSizeFromCurvature = 0;

// Only the volume is a physical group, so the file holds one block of tetrahedra.
Physical Volume("ball", 1) = {1};

Mesh.Algorithm3D = 1;  // Delaunay
Mesh.ElementOrder = 1;
