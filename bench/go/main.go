// The Go peer of `make bench`: grpc-go serving shippy's VesselService as the bare tonic
// server does (bench/src/bare.rs): FindAvailable answers one fixed vessel, every other RPC
// is Unimplemented; no auth, discovery, store or telemetry. It listens on a free loopback
// port (or -listen) and prints the address as its first line, then serves.
//
// Built offline in GOPATH mode from Debian's packages by scripts/bench-deps.sh, with the
// Go code protoc generates from proto/proto/vessel.proto.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"google.golang.org/grpc"

	pb "shippy/vessel"
)

type fixed struct {
	pb.UnimplementedVesselServiceServer
}

func (fixed) FindAvailable(context.Context, *pb.Specification) (*pb.Response, error) {
	return &pb.Response{
		Vessel: &pb.Vessel{
			Id:                "vessel001",
			Capacity:          500,
			MaxWeight:         200000,
			Name:              "Kane's Salty Secret",
			Available:         true,
			OwnerId:           "",
			RemainingCapacity: 500,
			RemainingWeight:   200000,
		},
		Created: false,
	}, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stdout, listener.Addr().String())
	server := grpc.NewServer()
	pb.RegisterVesselServiceServer(server, &fixed{})
	if err := server.Serve(listener); err != nil {
		log.Fatal(err)
	}
}
