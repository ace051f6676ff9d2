set -uo pipefail
out=$1
cmake -S native -B /tmp/qlp -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_FLAGS="-lineinfo -Xptxas -v" >/tmp/cmake.log 2>&1 || { cat /tmp/cmake.log; exit 1; }
cmake --build /tmp/qlp --target ql_kernel_test 2>&1 | grep -A2 "verifyOnGrid" | grep -E "registers|spill" | head -4
ncu -k regex:verifyOnGridKernel -c 1 --set full --import-source yes -o $out/prof /tmp/qlp/ql_kernel_test --bench-verify > $out/ncu.log 2>&1
ncu -i $out/prof.ncu-rep --page details --csv > $out/details.csv 2>&1
ncu -i $out/prof.ncu-rep --page source --csv --print-source sass > $out/sass.csv 2>&1
grep -E "Duration|DRAM Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per|Executed Ipc|Issue Slots Busy|No Eligible|Theoretical Occ|Block Limit" $out/details.csv | cut -c1-200 | head -30
ls -la $out
