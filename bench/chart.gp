# gnuplot -e "csv='relay.csv'; out='relay.png'" bench/chart.gp
# Relay throughput per path, up and down, from bench/relay.sh's CSV.
set terminal pngcairo size 900,420 font ",10" noenhanced
set output out
set datafile separator ","
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
plot csv every ::1 using 2:xtic(1) title "up (H -> S)", "" every ::1 using 6 title "down (S -> H)"
