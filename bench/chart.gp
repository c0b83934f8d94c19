# gnuplot -e "csv='relay.csv'; bond='bonding.csv'; out='bench.png'" bench/chart.gp
# Two panels from the benchmark's CSVs: relay throughput per path, up and
# down (bench/relay.sh), and bonding efficiency, each path's goodput as a
# share of the sum of the path rates, clean and with loss (bench/bonding.sh).
set terminal pngcairo size 1100,900 font ",10" noenhanced
set output out
set datafile separator ","
set multiplot layout 2,1

set title "Relay throughput, unshaped veth (Gbit/s, median)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "Gbit/s"
set yrange [0:*]
set xtics rotate by -30
set key top right
set grid ytics
plot csv every ::1 using 3:xtic(1) title "up (H -> S)", "" every ::1 using 7 title "down (S -> H)"

set title "Bonding: goodput as a share of the sum of the two paths' rates (target 0.90)"
set ylabel "share of the sum"
set yrange [0:1.1]
set xtics norotate
plot bond every ::1 using 6:xtic(stringcolumn(1) . " " . stringcolumn(2)) title "share", \
	0.9 with lines dashtype 2 lc rgb "black" title "target"

unset multiplot
