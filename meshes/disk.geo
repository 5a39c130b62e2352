// Disk of radius 6 centred at the origin, first-order triangles of size about 0.15.
// Built-in kernel: the centre point 1 is only a construction point (it is not meshed,
// gan_pde.mesh.load drops it).  Regenerate the .msh with `python meshes/generate.py`.
R = 6.0;
h = 0.15;

Point(1) = {0, 0, 0, h};
Point(2) = {R, 0, 0, h};
Point(3) = {0, R, 0, h};
Point(4) = {-R, 0, 0, h};
Point(5) = {0, -R, 0, h};

Circle(1) = {2, 1, 3};
Circle(2) = {3, 1, 4};
Circle(3) = {4, 1, 5};
Circle(4) = {5, 1, 2};

Curve Loop(1) = {1, 2, 3, 4};
Plane Surface(1) = {1};

// Only the surface is a physical group, so the file holds one block of triangles.
Physical Surface("disk", 1) = {1};

Mesh.Algorithm = 6;  // Frontal-Delaunay
Mesh.ElementOrder = 1;
