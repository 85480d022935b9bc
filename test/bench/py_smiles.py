"""Drug-like SMILES for the `py` bench's RDKit workload, made the same way every time: an aryl or
alkyl head, a linker (amide, sulfonamide, urea, ...) and a tail, 25 x 8 x 25 = 5,000 molecules of
10 to 30 heavy atoms, in an order shuffled with a fixed seed; the first N are written as a .smi
file ("SMILES name" per line). Each one is parsed by RDKit; any that is not is an error (exit 1).

usage: py_smiles.py N OUT.smi
"""
import itertools
import random
import sys

# Each head bonds to the linker at its last atom written outside brackets and branches.
HEADS = [
    "c1ccccc1", "Fc1ccc(cc1)", "Clc1ccc(cc1)", "COc1ccc(cc1)", "Cc1ccc(cc1)",
    "FC(F)(F)c1ccc(cc1)", "N#Cc1ccc(cc1)", "Fc1cccc(c1)", "Clc1cccc(Cl)c1", "c1ccc2ccccc2c1",
    "c1ccncc1", "c1cncnc1", "c1ccsc1", "c1ccoc1", "c1ccc2[nH]ccc2c1",
    "c1ccc2OCOc2c1", "C1CCCCC1", "C1CC1", "CC(C)(C)", "c1cc(F)c(F)cc1",
    "n1ccccc1", "Cn1cc(cn1)", "COc1cc(cc(OC)c1OC)", "CS(=O)(=O)c1ccc(cc1)", "c1ccc2ncccc2c1",
]
LINKERS = ["C(=O)N", "C(=O)NC(C)", "S(=O)(=O)N", "NC(=O)N", "C(=O)N(C)", "CC(=O)N", "OCC(=O)N", "C(=O)N1CCN(CC1)"]
# Each tail bonds to the linker at its first atom.
TAILS = [
    "c1ccccc1", "c1ccc(F)cc1", "c1ccc(OC)cc1", "c1ccccn1", "c1cccnc1",
    "Cc1ccccc1", "Cc1ccccn1", "C1CCCCC1", "C1CC1", "CC(C)C",
    "CCO", "CCN(C)C", "CCN1CCOCC1", "C1CCN(C)CC1", "c1ccc2[nH]ccc2c1",
    "c1nccs1", "c1ccc(cc1)C(=O)O", "c1ccc(cc1)C#N", "Cc1ccco1", "C(C)c1ccccc1",
    "c1cc(Cl)cc(Cl)c1", "CC1CCCO1", "c1ccc(cc1)S(N)(=O)=O", "Cc1cnn(C)c1", "c1ccc2OCCOc2c1",
]


def molecules():
    all_ = ["".join(p) for p in itertools.product(HEADS, LINKERS, TAILS)]
    random.Random(20261207).shuffle(all_)
    return all_


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    mols = molecules()
    if not 0 < n <= len(mols):
        sys.exit(f"py_smiles.py: N must be 1 to {len(mols)}, not {n}")
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    bad = [s for s in mols[:n] if Chem.MolFromSmiles(s) is None]
    if bad:
        sys.exit(f"py_smiles.py: RDKit cannot parse {len(bad)} SMILES, e.g. {bad[:3]}")
    with open(out, "w") as f:
        for i, s in enumerate(mols[:n]):
            f.write(f"{s} m{i:04d}\n")


if __name__ == "__main__":
    main()
