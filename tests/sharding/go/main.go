// Test vectors for crashwatch's shard hash (operator/crashwatch/sharding.py), produced by the
// Kubernetes code itself: k8s.io/apimachinery/pkg/sharding at the version the local control
// plane runs (v0.36.3, kube-apiserver v1.36.3).
//
//	cd tests/sharding/go && go run . > ../vectors.json      (make sharding-vectors)
//
// For every value: HashField (64-bit FNV-1a, as the API server hashes
// object.metadata.namespace). For N = 1..16 shards: the ranges [floor(i*2^64/N),
// floor((i+1)*2^64/N)) as shardRange() bounds, and, for every value, the one shard whose
// selector (sharding.NewSelector(...).Matches on an object in that namespace) matches it. The
// program fails if a value matches no shard or more than one.
package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/sharding"
)

const field = "object.metadata.namespace"

func bound(v *big.Int) string {
	if v.BitLen() > 64 {
		return "0x" + v.Text(16) // 2^64: "0x10000000000000000", the one 17-digit bound
	}
	return fmt.Sprintf("0x%016s", v.Text(16))
}

type shards struct {
	Ranges [][2]string    `json:"ranges"`
	Owner  map[string]int `json:"owner"`
}

type output struct {
	Source string            `json:"source"`
	Field  string            `json:"field"`
	Hashes map[string]string `json:"hashes"`
	Shards map[string]shards `json:"shards"`
}

func values() []string {
	vs := []string{"", "a", "default", "kube-system", "kube-public", "kube-node-lease",
		"crashwatch", "storefront", "payments", "monitoring", "argocd", "flux-system",
		"team-a", "team-b", "Ünïcode-ß", "x",
		"a-namespace-name-that-is-exactly-sixty-three-characters-long-ok"}
	for i := 0; i < 100; i++ {
		vs = append(vs, fmt.Sprintf("shop-%02d", i))
	}
	for i := 0; i < 30; i++ {
		vs = append(vs, fmt.Sprintf("shard-e2e-%02d", i))
	}
	return vs
}

func main() {
	space := new(big.Int).Lsh(big.NewInt(1), 64)
	out := output{
		Source: "k8s.io/apimachinery@v0.36.3/pkg/sharding",
		Field:  field,
		Hashes: map[string]string{},
		Shards: map[string]shards{},
	}
	vs := values()
	for _, v := range vs {
		out.Hashes[v] = sharding.HashField(v)
	}
	for n := 1; n <= 16; n++ {
		s := shards{Owner: map[string]int{}}
		var sels []sharding.Selector
		for i := 0; i < n; i++ {
			lo := new(big.Int).Div(new(big.Int).Mul(big.NewInt(int64(i)), space), big.NewInt(int64(n)))
			hi := new(big.Int).Div(new(big.Int).Mul(big.NewInt(int64(i+1)), space), big.NewInt(int64(n)))
			r := [2]string{bound(lo), bound(hi)}
			s.Ranges = append(s.Ranges, r)
			sels = append(sels, sharding.NewSelector(sharding.ShardRangeRequirement{
				Key: field, Start: r[0], End: r[1]}))
		}
		for _, v := range vs {
			obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: v}}
			owner := -1
			for i, sel := range sels {
				ok, err := sel.Matches(obj)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				if ok {
					if owner >= 0 {
						fmt.Fprintf(os.Stderr, "%q matches shards %d and %d of %d\n", v, owner, i, n)
						os.Exit(1)
					}
					owner = i
				}
			}
			if owner < 0 {
				fmt.Fprintf(os.Stderr, "%q matches no shard of %d\n", v, n)
				os.Exit(1)
			}
			s.Owner[v] = owner
		}
		out.Shards[strconv.Itoa(n)] = s
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
