// Chapter 1's MLP in C++ with Eigen: forward, softmax cross-entropy, backward by hand.
//
// The same network as airoad_book/scratch/mlp.py, layer for layer: Dense (y = x W +
// b, W shaped (D_in, D_out)) and ReLU between them, logits out, the mean cross-entropy
// of a stable softmax on top. Rumelhart, Hinton & Williams (1986), "Learning representations
// by back-propagating errors", Nature 323: 533-536.
//
// Build: make -C cpp (g++ -O3 -march=native -std=c++17 -I/usr/include/eigen3 ...).
// Run with no argument for a demo (loss, finite-difference check, timing); with
// `grads IN OUT REPEATS` it reads weights and a batch from IN, writes the loss, every
// gradient and the seconds per forward+backward to OUT (the book's tests use this).
#include <Eigen/Dense>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

// Row-major, like NumPy: a batch is B rows of D features, and files map one to one.
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::RowVectorXd;
using Labels = std::vector<int64_t>;

// --8<-- [start:dense]
struct Dense {
    Matrix W;   // (D_in, D_out)
    Vector b;   // (D_out)
    Matrix x;   // (B, D_in): the input, cached for dL/dW
    Matrix dW;  // (D_in, D_out)
    Vector db;  // (D_out)

    Matrix forward(const Matrix& input) {
        x = input;
        Matrix y = x * W;    // (B, D_out): a matrix product, said out loud
        y.rowwise() += b;    // broadcasting is explicit too
        return y;
    }

    Matrix backward(const Matrix& g) {  // g = dL/dy, (B, D_out)
        dW = x.transpose() * g;         // (D_in, D_out): sums over the batch
        db = g.colwise().sum();         // (D_out)
        return g * W.transpose();       // (B, D_in) = dL/dx
    }
};
// --8<-- [end:dense]

// --8<-- [start:loss]
// Mean cross-entropy of softmax(z) against the labels, in nats; keeps p for backward.
double softmax_cross_entropy(const Matrix& z, const Labels& y, Matrix& p) {
    const Eigen::Index B = z.rows();
    Eigen::VectorXd m = z.rowwise().maxCoeff();             // (B): row maxima
    Matrix shifted = z.colwise() - m;                       // every exponent <= 0
    Eigen::VectorXd lse = shifted.array().exp().rowwise().sum().log();  // (B)
    Matrix log_p = shifted.colwise() - lse;                 // (B, K)
    p = log_p.array().exp().matrix();                       // rows sum to 1
    double loss = 0.0;
    for (Eigen::Index i = 0; i < B; ++i) loss -= log_p(i, y[i]);
    return loss / static_cast<double>(B);
}
// --8<-- [end:loss]

// --8<-- [start:mlp]
struct MLP {
    std::vector<Dense> layers;  // Dense, then ReLU after every layer but the last
    std::vector<Matrix> masks;  // (B, D_l): 1 where the ReLU's input was positive
    Matrix p;                   // (B, K): softmax of the last logits
    Labels y;

    double loss(const Matrix& x, const Labels& labels) {
        Matrix h = x;  // (B, D)
        masks.clear();
        for (size_t l = 0; l < layers.size(); ++l) {
            h = layers[l].forward(h);
            if (l + 1 < layers.size()) {  // no ReLU on the logits
                Matrix mask = (h.array() > 0.0).cast<double>().matrix();
                h = h.cwiseProduct(mask);
                masks.push_back(mask);
            }
        }
        y = labels;
        return softmax_cross_entropy(h, y, p);
    }

    void backward() {  // fills every layer's dW and db
        Matrix g = p;  // dL/dz = (p - onehot(y)) / B
        for (Eigen::Index i = 0; i < g.rows(); ++i) g(i, y[i]) -= 1.0;
        g /= static_cast<double>(g.rows());
        for (size_t l = layers.size(); l-- > 0;) {
            g = layers[l].backward(g);
            if (l > 0) g = g.cwiseProduct(masks[l - 1]);  // through the ReLU
        }
    }
};
// --8<-- [end:mlp]

// ------------------------------------------------------------------------------------
// Files: little-endian int64 and float64, row-major, in the order the tests write them.

template <typename T>
T read_one(std::ifstream& in) {
    T v;
    if (!in.read(reinterpret_cast<char*>(&v), sizeof(T)))
        throw std::runtime_error("input file ends early");
    return v;
}

void read_into(std::ifstream& in, double* data, Eigen::Index n) {
    if (!in.read(reinterpret_cast<char*>(data), n * sizeof(double)))
        throw std::runtime_error("input file ends early");
}

// IN: n, sizes[n], B, x (B, sizes[0]), labels (B), then W_l, b_l for every layer.
MLP read_problem(const std::string& path, Matrix& x, Labels& y) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    const int64_t n = read_one<int64_t>(in);
    if (n < 2 || n > 64) throw std::runtime_error("expected 2 to 64 layer sizes");
    std::vector<int64_t> sizes(n);
    for (auto& s : sizes) s = read_one<int64_t>(in);
    const int64_t B = read_one<int64_t>(in);
    x.resize(B, sizes[0]);
    read_into(in, x.data(), x.size());
    y.resize(B);
    for (auto& label : y) {
        label = read_one<int64_t>(in);
        if (label < 0 || label >= sizes[n - 1])
            throw std::runtime_error("a label is outside 0..K-1");
    }
    MLP mlp;
    for (int64_t l = 0; l + 1 < n; ++l) {
        Dense d;
        d.W.resize(sizes[l], sizes[l + 1]);
        d.b.resize(sizes[l + 1]);
        read_into(in, d.W.data(), d.W.size());
        read_into(in, d.b.data(), d.b.size());
        mlp.layers.push_back(d);
    }
    return mlp;
}

// OUT: loss, dW_l and db_l for every layer, seconds per forward+backward.
void write_grads(const std::string& path, double loss, const MLP& mlp, double secs) {
    std::ofstream out(path, std::ios::binary);
    auto put = [&out](const double* d, Eigen::Index n) {
        out.write(reinterpret_cast<const char*>(d), n * sizeof(double));
    };
    put(&loss, 1);
    for (const Dense& d : mlp.layers) {
        put(d.dW.data(), d.dW.size());
        put(d.db.data(), d.db.size());
    }
    put(&secs, 1);
    if (!out) throw std::runtime_error("cannot write " + path);
}

// --8<-- [start:timing]
// Seconds per forward+backward, the mean over `repeats` after one warm-up pass.
double time_steps(MLP& mlp, const Matrix& x, const Labels& y, int repeats) {
    mlp.loss(x, y);
    mlp.backward();
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r) {
        mlp.loss(x, y);
        mlp.backward();
    }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return took.count() / repeats;
}
// --8<-- [end:timing]

int grads(const std::string& in, const std::string& out, int repeats) {
    Matrix x;
    Labels y;
    MLP mlp = read_problem(in, x, y);
    double secs = repeats > 0 ? time_steps(mlp, x, y, repeats) : 0.0;
    double loss = mlp.loss(x, y);
    mlp.backward();
    write_grads(out, loss, mlp, secs);
    return 0;
}

// --8<-- [start:demo]
// A 784-128-10 network on a random batch of 64: the loss, a finite-difference check of
// backward at each layer's largest gradient, and the time of one step.
int demo() {
    std::srand(0);  // Eigen's Random draws from std::rand: the same numbers every run
    const std::vector<int> sizes = {784, 128, 10};
    const int B = 64;
    MLP mlp;
    for (size_t l = 0; l + 1 < sizes.size(); ++l) {
        Dense d;
        double he = std::sqrt(2.0 / sizes[l]);  // He et al. (2015) scale, uniform here
        d.W = Matrix::Random(sizes[l], sizes[l + 1]) * he * std::sqrt(3.0);
        d.b = Vector::Zero(sizes[l + 1]);
        mlp.layers.push_back(d);
    }
    Matrix x = (Matrix::Random(B, sizes[0]).array() + 1.0) / 2.0;  // pixels in [0, 1]
    Labels y(B);
    for (int i = 0; i < B; ++i) y[i] = i % 10;

    double loss = mlp.loss(x, y);
    mlp.backward();
    double worst = 0.0, eps = 1e-6;
    for (Dense& d : mlp.layers) {  // central differences at each layer's largest dW
        Eigen::Index i, j;
        d.dW.cwiseAbs().maxCoeff(&i, &j);
        double analytic = d.dW(i, j), saved = d.W(i, j);
        d.W(i, j) = saved + eps;
        double up = mlp.loss(x, y);
        d.W(i, j) = saved - eps;
        double down = mlp.loss(x, y);
        d.W(i, j) = saved;
        double numeric = (up - down) / (2 * eps);
        worst = std::max(worst, std::abs(analytic - numeric) / std::abs(analytic));
    }
    double secs = time_steps(mlp, x, y, 200);
    std::printf("loss %.4f nats (ln 10 = %.4f)\n", loss, std::log(10.0));
    std::printf("finite differences vs backward: max relative error %.1e\n", worst);
    std::printf("one forward+backward, batch %d: %.3f ms\n", B, 1e3 * secs);
    return worst < 1e-6 ? 0 : 1;
}
// --8<-- [end:demo]

int main(int argc, char** argv) {
    try {
        if (argc == 1) return demo();
        if (argc == 5 && std::string(argv[1]) == "grads")
            return grads(argv[2], argv[3], std::stoi(argv[4]));
        std::fprintf(stderr, "usage: %s [grads IN OUT REPEATS]\n", argv[0]);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mlp_eigen: %s\n", e.what());
        return 1;
    }
}
