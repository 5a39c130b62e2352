// L-shaped domain (-1, 1)^2 minus the quadrant [0, 1] x [-1, 0]: the re-entrant corner
// (interior angle 3*pi/2) is at the origin.  First-order triangles of size about 0.03,
// graded down to about 0.005 near the corner, where solutions of elliptic problems are
// singular (r^(2/3)).  Regenerate the .msh with `python meshes/generate.py`.
h = 0.03;
h_corner = 0.005;

Point(1) = {-1, -1, 0, h};
Point(2) = {0, -1, 0, h};
Point(3) = {0, 0, 0, h_corner};
Point(4) = {1, 0, 0, h};
Point(5) = {1, 1, 0, h};
Point(6) = {-1, 1, 0, h};

Line(1) = {1, 2};
Line(2) = {2, 3};
Line(3) = {3, 4};
Line(4) = {4, 5};
Line(5) = {5, 6};
Line(6) = {6, 1};

Curve Loop(1) = {1, 2, 3, 4, 5, 6};
Plane Surface(1) = {1};

// Grade the size from h_corner within 0.02 of the corner to h beyond 0.3.
Field[1] = Distance;
Field[1].PointsList = {3};
Field[2] = Threshold;
Field[2].InField = 1;
Field[2].SizeMin = h_corner;
Field[2].SizeMax = h;
Field[2].DistMin = 0.02;
Field[2].DistMax = 0.3;
Background Field = 2;
Mesh.MeshSizeExtendFromBoundary = 0;
Mesh.MeshSizeFromPoints = 0;
Mesh.MeshSizeFromCurvature = 0;

Physical Surface("lshape", 1) = {1};

Mesh.Algorithm = 6;  // Frontal-Delaunay
Mesh.ElementOrder = 1;
