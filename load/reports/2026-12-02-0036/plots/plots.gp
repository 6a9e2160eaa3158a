set terminal pngcairo size 1000,600 font "DejaVu Sans,11"
set logscale x 2
set xrange [0.6666666666666666:768.0]
set xtics ("1" 1, "8" 8, "64" 64, "128" 128, "512" 512)
set grid
set key below horizontal
set xlabel "concurrent connections (wrk -c)"
set output "../throughput.png"
set title "GET /assign one group, keep-alive: throughput (server on 1 pinned core)"
set ylabel "requests per second"
set yrange [0:*]
set format y "%.0s%c"
plot "mutex-edge-10.dat" using 1:2 with linespoints lc rgb "#1f77b4" lw 2 pt 7 title "mutex-edge, 10 groups", \
  "nginx-10.dat" using 1:2 with linespoints lc rgb "#1f77b4" lw 2 pt 6 dt 2 title "nginx, 10 groups", \
  "mutex-edge-1000.dat" using 1:2 with linespoints lc rgb "#d62728" lw 2 pt 7 title "mutex-edge, 1,000 groups", \
  "nginx-1000.dat" using 1:2 with linespoints lc rgb "#d62728" lw 2 pt 6 dt 2 title "nginx, 1,000 groups", \
  "mutex-edge-10000.dat" using 1:2 with linespoints lc rgb "#2ca02c" lw 2 pt 7 title "mutex-edge, 10,000 groups", \
  "nginx-10000.dat" using 1:2 with linespoints lc rgb "#2ca02c" lw 2 pt 6 dt 2 title "nginx, 10,000 groups"
set output "../cpu.png"
set title "GET /assign one group, keep-alive: server CPU time per request"
set ylabel "CPU µs per request (utime+stime)"
set format y "%g"
plot "mutex-edge-10.dat" using 1:5 with linespoints lc rgb "#1f77b4" lw 2 pt 7 title "mutex-edge, 10 groups", \
  "nginx-10.dat" using 1:5 with linespoints lc rgb "#1f77b4" lw 2 pt 6 dt 2 title "nginx, 10 groups", \
  "mutex-edge-1000.dat" using 1:5 with linespoints lc rgb "#d62728" lw 2 pt 7 title "mutex-edge, 1,000 groups", \
  "nginx-1000.dat" using 1:5 with linespoints lc rgb "#d62728" lw 2 pt 6 dt 2 title "nginx, 1,000 groups", \
  "mutex-edge-10000.dat" using 1:5 with linespoints lc rgb "#2ca02c" lw 2 pt 7 title "mutex-edge, 10,000 groups", \
  "nginx-10000.dat" using 1:5 with linespoints lc rgb "#2ca02c" lw 2 pt 6 dt 2 title "nginx, 10,000 groups"
set terminal pngcairo size 1560,560 font "DejaVu Sans,11"
set output "../latency.png"
set logscale y 10
set yrange [*:*]
set format y "%g"
set key inside left top
set ylabel "latency, ms (log scale)"
set multiplot layout 1,3 title "GET /assign one group, keep-alive: latency by concurrency"
set title "10 groups"
plot "mutex-edge-10.dat" using 1:4 with linespoints lc rgb "#d62728" lw 2 pt 7 title "mutex-edge p99", "nginx-10.dat" using 1:4 with linespoints lc rgb "#d62728" lw 2 pt 6 dt 2 title "nginx p99", "mutex-edge-10.dat" using 1:3 with linespoints lc rgb "#1f77b4" lw 2 pt 7 title "mutex-edge p50", "nginx-10.dat" using 1:3 with linespoints lc rgb "#1f77b4" lw 2 pt 6 dt 2 title "nginx p50"
set title "1,000 groups"
plot "mutex-edge-1000.dat" using 1:4 with linespoints lc rgb "#d62728" lw 2 pt 7 title "mutex-edge p99", "nginx-1000.dat" using 1:4 with linespoints lc rgb "#d62728" lw 2 pt 6 dt 2 title "nginx p99", "mutex-edge-1000.dat" using 1:3 with linespoints lc rgb "#1f77b4" lw 2 pt 7 title "mutex-edge p50", "nginx-1000.dat" using 1:3 with linespoints lc rgb "#1f77b4" lw 2 pt 6 dt 2 title "nginx p50"
set title "10,000 groups"
plot "mutex-edge-10000.dat" using 1:4 with linespoints lc rgb "#d62728" lw 2 pt 7 title "mutex-edge p99", "nginx-10000.dat" using 1:4 with linespoints lc rgb "#d62728" lw 2 pt 6 dt 2 title "nginx p99", "mutex-edge-10000.dat" using 1:3 with linespoints lc rgb "#1f77b4" lw 2 pt 7 title "mutex-edge p50", "nginx-10000.dat" using 1:3 with linespoints lc rgb "#1f77b4" lw 2 pt 6 dt 2 title "nginx p50"
unset multiplot
